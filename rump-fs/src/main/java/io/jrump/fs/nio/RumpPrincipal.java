package io.jrump.fs.nio;

import java.io.IOException;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;

/**
 * A user or group of an image, by number: an image has no password database the provider
 * reads, so names are the decimal ids ({@code "1000"}), and {@code "root"} is 0.
 */
record RumpPrincipal(long id, boolean group) implements GroupPrincipal {
    @Override
    public String getName() {
        return Long.toString(id);
    }

    @Override
    public String toString() {
        return getName();
    }

    static long idOf(UserPrincipal p) {
        if (!(p instanceof RumpPrincipal r)) {
            throw new java.nio.file.ProviderMismatchException(p + " is not a rump principal");
        }
        return r.id;
    }

    /** Looks names up as numbers. */
    static final UserPrincipalLookupService LOOKUP = new UserPrincipalLookupService() {
        @Override
        public UserPrincipal lookupPrincipalByName(String name) throws IOException {
            return new RumpPrincipal(parse(name), false);
        }

        @Override
        public GroupPrincipal lookupPrincipalByGroupName(String group) throws IOException {
            return new RumpPrincipal(parse(group), true);
        }
    };

    private static long parse(String name) throws UserPrincipalNotFoundException {
        if (name.equals("root")) {
            return 0;
        }
        try {
            long id = Long.parseLong(name);
            if (id >= 0 && id <= 0xffffffffL) {
                return id;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new UserPrincipalNotFoundException(name);
    }
}
