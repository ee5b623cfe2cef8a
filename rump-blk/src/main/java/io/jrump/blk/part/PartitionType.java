package io.jrump.blk.part;

import java.util.Locale;
import java.util.Map;

/**
 * Partition types by the names users type ({@code linux}, {@code efi}, {@code fat32},
 * {@code swap}) and their codes: MBR type bytes and GPT type GUIDs. Unknown codes stay as they
 * are; only names that are known are offered.
 */
public final class PartitionType {
    private PartitionType() {
    }

    private static final Map<String, Integer> MBR = Map.of(
            "linux", 0x83, "efi", 0xef, "fat32", 0x0c, "swap", 0x82, "extended", 0x05, "lvm", 0x8e, "ntfs", 0x07);
    private static final Map<String, String> GPT = Map.of(
            "linux", "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            "efi", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            "fat32", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
            "swap", "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
            "lvm", "E6D6D379-F507-44C2-A23C-238F2A3DF928",
            "bios", "21686148-6449-6E6F-744E-656564454649",
            "home", "933AC7E1-2EB4-4F13-B844-0E14E2AEF915");

    /** The MBR type byte for a name, or a hex code such as {@code 83} or {@code 0x83}. */
    public static int mbrCode(String nameOrCode) {
        Integer known = MBR.get(nameOrCode.toLowerCase(Locale.ROOT));
        if (known != null) {
            return known;
        }
        String hex = nameOrCode.toLowerCase(Locale.ROOT).replaceFirst("^0x", "");
        if (hex.matches("[0-9a-f]{1,2}") && Integer.parseInt(hex, 16) != 0) {
            return Integer.parseInt(hex, 16);
        }
        throw new IllegalArgumentException("unknown MBR partition type '" + nameOrCode + "' (use " + String.join(", ",
                new java.util.TreeSet<>(MBR.keySet())) + " or a hex code)");
    }

    /** The GPT type GUID for a name, or a GUID. */
    public static Guid gptType(String nameOrGuid) {
        String known = GPT.get(nameOrGuid.toLowerCase(Locale.ROOT));
        if (known != null) {
            return Guid.parse(known);
        }
        try {
            return Guid.parse(nameOrGuid);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown GPT partition type '" + nameOrGuid + "' (use "
                    + String.join(", ", new java.util.TreeSet<>(GPT.keySet())) + " or a GUID)", e);
        }
    }

    /** A friendly name for an MBR type byte, or empty. */
    public static String describeMbr(int code) {
        return MBR.entrySet().stream().filter(e -> e.getValue() == code).map(Map.Entry::getKey)
                .sorted().findFirst().orElse(switch (code) {
                    case 0x0f, 0x85 -> "extended";
                    case 0xee -> "gpt-protective";
                    case 0x0b -> "fat32";
                    case 0x06, 0x0e -> "fat16";
                    default -> "";
                });
    }

    /** A friendly name for a GPT type GUID, or empty. */
    public static String describeGpt(Guid type) {
        String s = type.toString();
        return GPT.entrySet().stream().filter(e -> e.getValue().equals(s)).map(Map.Entry::getKey).findFirst()
                .orElse("");
    }

    /** Whether an MBR partition is an extended one (GPT partitions never are). */
    static boolean isExtendedType(Partition p) {
        return p.uuid() == null && isExtended(Integer.parseInt(p.type(), 16));
    }

    /** MBR types that hold an extended partition's chain of EBRs. */
    public static boolean isExtended(int code) {
        return code == 0x05 || code == 0x0f || code == 0x85;
    }
}
