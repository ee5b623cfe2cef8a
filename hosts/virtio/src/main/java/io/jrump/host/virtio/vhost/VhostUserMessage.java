package io.jrump.host.virtio.vhost;

/**
 * The vhost-user protocol's numbers (QEMU, docs/interop/vhost-user.rst): front-end requests, header
 * flags and protocol feature bits. Messages are a 12-byte header ({@code u32 request, u32 flags,
 * u32 size}) and {@code size} payload bytes, in the host's byte order.
 */
final class VhostUserMessage {
    private VhostUserMessage() {
    }

    static final int HEADER = 12;
    /** Version 1 in the flags' low two bits. */
    static final int VERSION = 0x1;
    static final int FLAG_REPLY = 0x4;
    static final int FLAG_NEED_REPLY = 0x8;

    static final int GET_FEATURES = 1;
    static final int SET_FEATURES = 2;
    static final int SET_OWNER = 3;
    static final int SET_MEM_TABLE = 5;
    static final int SET_VRING_NUM = 8;
    static final int SET_VRING_ADDR = 9;
    static final int SET_VRING_BASE = 10;
    static final int GET_VRING_BASE = 11;
    static final int SET_VRING_KICK = 12;
    static final int SET_VRING_CALL = 13;
    static final int GET_PROTOCOL_FEATURES = 15;
    static final int SET_PROTOCOL_FEATURES = 16;
    static final int GET_QUEUE_NUM = 17;
    static final int SET_VRING_ENABLE = 18;
    static final int GET_CONFIG = 24;

    static final int PROTOCOL_MQ = 0;
    static final int PROTOCOL_REPLY_ACK = 3;
    static final int PROTOCOL_CONFIG = 9;

    /** The largest reply this front-end accepts: a configuration space of 256 bytes and its header. */
    static final int MAX_REPLY = 12 + 256;

    static String name(int request) {
        return switch (request) {
            case GET_FEATURES -> "GET_FEATURES";
            case SET_FEATURES -> "SET_FEATURES";
            case SET_OWNER -> "SET_OWNER";
            case SET_MEM_TABLE -> "SET_MEM_TABLE";
            case SET_VRING_NUM -> "SET_VRING_NUM";
            case SET_VRING_ADDR -> "SET_VRING_ADDR";
            case SET_VRING_BASE -> "SET_VRING_BASE";
            case GET_VRING_BASE -> "GET_VRING_BASE";
            case SET_VRING_KICK -> "SET_VRING_KICK";
            case SET_VRING_CALL -> "SET_VRING_CALL";
            case GET_PROTOCOL_FEATURES -> "GET_PROTOCOL_FEATURES";
            case SET_PROTOCOL_FEATURES -> "SET_PROTOCOL_FEATURES";
            case GET_QUEUE_NUM -> "GET_QUEUE_NUM";
            case SET_VRING_ENABLE -> "SET_VRING_ENABLE";
            case GET_CONFIG -> "GET_CONFIG";
            default -> "request " + request;
        };
    }
}
