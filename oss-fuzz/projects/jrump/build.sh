#!/bin/bash -eu
# OSS-Fuzz's projects/jrump/build.sh: the targets are built by the script kept in the repository.
exec "$SRC/jrump/.clusterfuzzlite/build.sh"
