#!/bin/bash -eu
# Builds every Jazzer @FuzzTest harness of the fuzz module into $OUT as one libFuzzer target, the
# way OSS-Fuzz and ClusterFuzzLite expect of a JVM project. Their `compile` step runs this script
# with the repository at $SRC/jrump and has already put the base image's jazzer_driver,
# jazzer_agent_deploy.jar (and, in current images, jazzer_junit.jar) into $OUT.
#
# For each harness method M of class C (fuzz/src/test/java/io/jrump/fuzz/C.java) it writes:
#   $OUT/C_M                  an executable wrapper running jazzer_driver --target_class/--target_method
#   $OUT/C_M_seed_corpus.zip  the checked-in seeds, fuzz/src/test/resources/io/jrump/fuzz/CInputs/M/
#   $OUT/C_M.dict             a dictionary of the wire format or image format C reads, where one fits
# and the class path under $OUT/jrump/ (the modules' classes, the harnesses, the third-party jars).
#
# Environment: SRC, OUT, WORK (set by OSS-Fuzz); MVN (Maven command, default mvn);
# JRUMP_MAVEN_ARGS (extra Maven arguments, e.g. -o for an offline build); JVM_LD_LIBRARY_PATH.

repo="$SRC/jrump"
mvn_cmd="${MVN:-mvn}"
cd "$repo"
repo_real="$(pwd -P)"  # Maven writes the class path with symbolic links resolved

# Compile the harnesses and the modules they use; the fuzz module's POM writes the test class
# path to fuzz/target/oss-fuzz.classpath on the way (maven-dependency-plugin build-classpath).
# shellcheck disable=SC2086
"$mvn_cmd" -B ${JRUMP_MAVEN_ARGS:-} -DskipTests -Dmaven.javadoc.skip=true test-compile -pl fuzz -am

classpath_file="$repo/fuzz/target/oss-fuzz.classpath"
[[ -s "$classpath_file" ]] || { echo "build.sh: Maven wrote no $classpath_file" >&2; exit 1; }

lib="$OUT/jrump"
rm -rf "$lib"
mkdir -p "$lib/lib"

# The class path in the wrappers is relative to the wrapper ($this_dir), so $OUT can be moved
# (ClusterFuzz runs targets from a different directory than the build). The base image's
# agent jar and jazzer_junit.jar come first so their Jazzer classes win over the project's.
runtime_cp='$this_dir/jazzer_agent_deploy.jar:$this_dir/jazzer_junit.jar'
project_junit=""
IFS=":" read -r -a entries < "$classpath_file" || true  # no newline at the end: read says EOF
for entry in "$repo/fuzz/target/test-classes" "$repo/fuzz/target/classes" "${entries[@]}"; do
    if [[ -d "$entry" ]]; then
        # a reactor module's class directory, e.g. rump-net/target/classes -> rump-net-classes
        rel="${entry#"$repo_real"/}"
        rel="${rel#"$repo"/}"
        name="${rel%/target/*}"
        name="${name//\//-}-$(basename "$entry")"
        cp -r "$entry" "$lib/$name"
        runtime_cp="$runtime_cp:\$this_dir/jrump/$name"
    elif [[ -f "$entry" ]]; then
        jar_name="$(basename "$entry")"
        case "$jar_name" in
            # The standalone Jazzer jar (driver and agent) is the base image's business.
            jazzer-[0-9]*.jar) continue ;;
            jazzer-junit-*.jar) project_junit="$entry" ;;
        esac
        cp "$entry" "$lib/lib/$jar_name"
        runtime_cp="$runtime_cp:\$this_dir/jrump/lib/$jar_name"
    fi
done

# Older base images do not ship jazzer_junit.jar; the project's own copy (same class names) serves.
if [[ ! -f "$OUT/jazzer_junit.jar" ]]; then
    [[ -n "$project_junit" ]] || { echo "build.sh: no jazzer_junit.jar in \$OUT and none on the class path" >&2; exit 1; }
    cp "$project_junit" "$OUT/jazzer_junit.jar"
fi

# Which dictionary (.clusterfuzzlite/dict/NAME.dict) fits which harness class.
dict_for() {
    case "$1" in
        WireFuzzTest|NetStackFuzzTest) echo wire ;;
        Ipv6PacketFuzzTest|Ipv6StackFuzzTest|NdpFuzzTest) echo ipv6 ;;
        DhcpMessageFuzzTest|DhcpClientFuzzTest) echo dhcp ;;
        Dhcp6MessageFuzzTest|Dhcp6InfoClientFuzzTest) echo dhcp6 ;;
        DnsMessageFuzzTest|DnsResolverFuzzTest) echo dns ;;
        ExtFsFuzzTest|ExtWriteFuzzTest|ExtXattrFuzzTest|ExtDirBlockFuzzTest|FuseDispatcherFuzzTest|ExtMetadataFuzzTest) echo ext ;;
        Qcow2FuzzTest|VhdFuzzTest|VhdxFuzzTest|VdiFuzzTest|VmdkFuzzTest|PartitionTableFuzzTest) echo images ;;
        Qcow2MetadataFuzzTest|PartitionMetadataFuzzTest) echo images ;;
        FatFsFuzzTest|ExFatFsFuzzTest|IsoFsFuzzTest|FatMetadataFuzzTest) echo filesystems ;;
        *) echo "" ;;
    esac
}

# Every method annotated @FuzzTest (at the start of a line): the first "void NAME(" after it.
harness_dir="$repo/fuzz/src/test/java/io/jrump/fuzz"
seeds_root="$repo/fuzz/src/test/resources/io/jrump/fuzz"
count=0
for source in "$harness_dir"/*.java; do
    class="$(basename "$source" .java)"
    methods="$(awk '/^[[:space:]]*@FuzzTest/ { want = 1; next }
                    want && match($0, /void [A-Za-z0-9_]+\(/) {
                        print substr($0, RSTART + 5, RLENGTH - 6); want = 0 }' "$source")"
    for method in $methods; do
        target="${class}_${method}"
        cat > "$OUT/$target" <<WRAPPER
#!/bin/bash
# LLVMFuzzerTestOneInput for fuzzer detection.
# jrump harness io.jrump.fuzz.$class#$method, written by .clusterfuzzlite/build.sh
this_dir=\$(dirname "\$0")
if [[ "\$*" =~ (^| )-runs=[0-9]+(\$| ) ]]; then
    mem_settings='-Xmx1900m:-Xss900k'
else
    mem_settings='-Xmx2048m:-Xss1024k'
fi
LD_LIBRARY_PATH="\${JVM_LD_LIBRARY_PATH:-}:\$this_dir" \\
exec "\$this_dir/jazzer_driver" --agent_path="\$this_dir/jazzer_agent_deploy.jar" \\
    --cp="$runtime_cp" \\
    --target_class=io.jrump.fuzz.$class \\
    --target_method=$method \\
    '--instrumentation_includes=io.jrump.**' \\
    --jvm_args="\$mem_settings" \\
    "\$@"
WRAPPER
        chmod 0755 "$OUT/$target"

        seeds="$seeds_root/${class}Inputs/$method"
        rm -f "$OUT/${target}_seed_corpus.zip"
        if [[ -d "$seeds" ]] && [[ -n "$(find "$seeds" -type f -print -quit)" ]]; then
            (cd "$seeds" && find . -type f | LC_ALL=C sort | zip -q -X -j -@ "$OUT/${target}_seed_corpus.zip")
        fi

        dict="$(dict_for "$class")"
        if [[ -n "$dict" ]]; then
            cp "$repo/.clusterfuzzlite/dict/$dict.dict" "$OUT/$target.dict"
        fi
        count=$((count + 1))
        echo "build.sh: $target"
    done
done
[[ $count -gt 0 ]] || { echo "build.sh: no @FuzzTest methods found under $harness_dir" >&2; exit 1; }
echo "build.sh: $count targets in $OUT"
