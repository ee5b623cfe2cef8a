package io.jrump.net.dns;

/**
 * Why a DNS message was refused. Every parse failure names one of these, so a resolver can count
 * hostile or broken answers by kind ({@link DnsResolver#stats()}).
 */
public enum DnsFormatError {
    /** Fewer than the 12 bytes of the header. */
    TRUNCATED_HEADER,
    /** The section counts need more bytes than the message has (5 per question, 11 per record at least). */
    COUNT_EXCEEDS_MESSAGE,
    /** A question runs past the end of the message. */
    TRUNCATED_QUESTION,
    /** A resource record's fixed part or RDATA runs past the end of the message. */
    TRUNCATED_RR,
    /** A name's labels run past the end of the message (or of the RDATA holding it). */
    TRUNCATED_NAME,
    /** A label length byte of 64..191: over 63, or the obsolete extended/binary label types. */
    LABEL_TOO_LONG,
    /** A name longer than 255 bytes in wire form once decompressed. */
    NAME_TOO_LONG,
    /** A compression pointer to an offset at or past the end of the message. */
    POINTER_OUT_OF_MESSAGE,
    /** A compression pointer to its own offset or after it. */
    POINTER_FORWARD,
    /** A pointer that does not point before the labels it ends, or too many pointers in one name: a loop. */
    COMPRESSION_LOOP,
    /** RDATA whose length does not match what its type holds (A not 4 bytes, a name not ending at the end, ...). */
    RDATA_LENGTH_MISMATCH,
    /** An OPT record outside the additional section, a second one, or one whose owner is not the root. */
    BAD_OPT
}
