# Sourced by bench/fuzz-speed.sh and bench/fuzz-campaign.sh: harnesses prints every Jazzer
# harness of module fuzz as Class#method, one per line (the line after @FuzzTest names the method).
# Expects $root, the repository's top directory.
harnesses() {
    local f cls
    for f in "$root"/fuzz/src/test/java/io/jrump/fuzz/*.java; do
        cls="$(basename "$f" .java)"
        awk -v c="$cls" '/^[[:space:]]*@FuzzTest/ { want = 1; next } want && /void [A-Za-z0-9_]+\(/ {
            match($0, /void [A-Za-z0-9_]+\(/); m = substr($0, RSTART + 5, RLENGTH - 6); print c "#" m; want = 0 }' "$f"
    done
}
