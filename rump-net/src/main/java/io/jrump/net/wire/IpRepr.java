package io.jrump.net.wire;

import io.jrump.net.IpAddress;

/** What a transport needs of a received IP header of either version: its two addresses. */
public interface IpRepr {
    IpAddress source();

    IpAddress destination();
}
