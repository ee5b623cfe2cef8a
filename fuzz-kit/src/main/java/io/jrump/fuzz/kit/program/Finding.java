package io.jrump.fuzz.kit.program;

/** A finding of {@link ProgramRunner}: the invariant that broke, in words. */
final class Finding extends Exception {
    Finding(String message) {
        super(message, null, false, false);
    }

    /** "(first difference at byte i: 0x.., expected 0x..)" for the first {@code n} bytes, or "" if they agree. */
    static String firstDifference(byte[] want, byte[] got, int n) {
        for (int i = 0; i < Math.min(want.length, n); i++) {
            if (want[i] != got[i]) {
                return "(first difference at byte " + i + ": 0x" + Integer.toHexString(got[i] & 0xff) + ", expected 0x"
                        + Integer.toHexString(want[i] & 0xff) + ")";
            }
        }
        return "";
    }
}
