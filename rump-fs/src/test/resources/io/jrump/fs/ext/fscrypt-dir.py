#!/usr/bin/env python3
"""Makes DIR (empty, on a mounted ext4 with the encrypt feature) an fscrypt v2 encrypted
directory and fills it with FILES, through the kernel's ioctls (linux/fscrypt.h), then removes
the key so that the names and contents stay encrypted on disk.
Usage: fscrypt-dir.py MOUNTPOINT DIR NAME..."""
import fcntl
import os
import struct
import sys

FS_IOC_SET_ENCRYPTION_POLICY = 0x800C6613      # _IOR('f', 19, struct fscrypt_policy_v1)
FS_IOC_ADD_ENCRYPTION_KEY = 0xC0506617         # _IOWR('f', 23, struct fscrypt_add_key_arg)
FS_IOC_REMOVE_ENCRYPTION_KEY = 0xC0406618      # _IOWR('f', 24, struct fscrypt_remove_key_arg)
KEY_SPEC_TYPE_IDENTIFIER = 2

mnt, target, names = sys.argv[1], sys.argv[2], sys.argv[3:]
raw = bytes(range(64))
# fscrypt_add_key_arg: key_spec {type, reserved, u[32]}, raw_size, key_id, reserved[8], raw[]
arg = bytearray(struct.pack("<II32sII32s", KEY_SPEC_TYPE_IDENTIFIER, 0, bytes(32), len(raw), 0, bytes(32)) + raw)
fd = os.open(mnt, os.O_RDONLY)
fcntl.ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, arg)
identifier = bytes(arg[8:24])
dfd = os.open(target, os.O_RDONLY)
# fscrypt_policy_v2: version 2, AES-256-XTS contents, AES-256-CTS names, flags, reserved[4], identifier
fcntl.ioctl(dfd, FS_IOC_SET_ENCRYPTION_POLICY, struct.pack("<BBBB4s16s", 2, 1, 4, 0, bytes(4), identifier))
os.close(dfd)
for n in names:
    with open(os.path.join(target, n), "w") as f:
        f.write("secret " + n + "\n")
os.sync()
# fscrypt_remove_key_arg: key_spec, removal_status_flags, reserved[5]
rm = bytearray(struct.pack("<II32sI20s", KEY_SPEC_TYPE_IDENTIFIER, 0, identifier + bytes(16), 0, bytes(20)))
fcntl.ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, rm)
os.close(fd)
