#!/usr/bin/env bash
# Builds the fuzz targets of fuzz/ (release optimisations, debug assertions and overflow
# checks on), seeds each target's corpus, and runs every target (or the ones named) for
# SECONDS, one after another. Each run goes on past a crash (libFuzzer's fork mode, one
# job), so that a target spends all its time and keeps every distinct crash it finds.
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# Seeds come from the real data beside the repository (../shared/data, or $VEDETTE_DATA)
# when it is there, from ../shared/fuzz-findings for index_from_bytes, and from small
# inputs written here; nothing is downloaded or installed. Exits 1 when a target crashed,
# panicked, timed out or ran out of memory, naming the target and the input it kept
# (fuzz/artifacts/<target>/); 2 when cargo-fuzz or the nightly toolchain is missing.
set -euo pipefail
# Bytes, not characters, for lengths and patterns.
export LC_ALL=C

usage() {
    echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
    exit 2
}
[[ $# -ge 1 && $1 =~ ^[0-9]+$ ]] || usage
seconds=$1
shift

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzz=$root/fuzz
data=${VEDETTE_DATA:-$root/../shared/data}
findings=$root/../shared/fuzz-findings
[[ -d $data ]] && data=$(cd "$data" && pwd)
[[ -d $findings ]] && findings=$(cd "$findings" && pwd)

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is missing: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 2
fi

all_targets=(
    index_from_bytes feed_lines feed_csv feed_zeek feed_misp feed_misp_csv feed_stix feed_sniff_load
    stix_pattern find_in_text decompress log_lines scan_files engine_updates normalize_value allowlist_misp
)
targets=("${@:-${all_targets[@]}}")
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target $t" >&2; usage; }
done

# The largest seed: a longer file is cut to it.
max_len=65536
flags=(-O -a)

echo "== build"
build_start=$SECONDS
(cd "$fuzz" && cargo +nightly fuzz build "${flags[@]}")
echo "build: $((SECONDS - build_start)) s"

# --- seeds ---------------------------------------------------------------------------

# seed TARGET NAME: standard input, cut to max_len, as a seed of TARGET.
seed() {
    mkdir -p "$fuzz/corpus/$1"
    head -c "$max_len" >"$fuzz/corpus/$1/seed-$2"
}

# seed_files TARGET COUNT FILE...: the first COUNT files, inflated when gzip.
seed_files() {
    local target=$1 count=$2 file
    shift 2
    for file in "$@"; do
        [[ -f $file && $count -gt 0 ]] || continue
        count=$((count - 1))
        if [[ $file == *.gz ]]; then
            gzip -dc "$file" 2>/dev/null | seed "$target" "$(basename "$file" .gz)" || true
        else
            seed "$target" "$(basename "$file")" <"$file"
        fi
    done
}

# seed_raw TARGET COUNT FILE...: the first COUNT files as they are (compressed ones too),
# each whole or not at all.
seed_raw() {
    local target=$1 count=$2 file
    shift 2
    for file in "$@"; do
        [[ -f $file && $count -gt 0 && $(stat -c %s "$file") -le $max_len ]] || continue
        count=$((count - 1))
        seed "$target" "raw-$(basename "$file")" <"$file"
    done
}

le32() {
    local v=$1
    # shellcheck disable=SC2059 # the format is the escaped bytes
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $((v >> 8 & 255)) $((v >> 16 & 255)) $((v >> 24 & 255)))"
}

# vdx KIND:VALUE...: an index file of those entries (kind codes as in Kind::code), one
# record each, the first with a source and a validity window. The checksum is gzip's
# CRC-32 when gzip is there (the target fixes it up anyway).
vdx() {
    local payload entry value i=0 n=$#
    payload=$(mktemp)
    {
        le32 $((n + 1))
        for entry in "$@"; do
            value=${entry#*:}
            le32 ${#value}
            printf '%s' "$value"
        done
        le32 3
        printf 'src'
        le32 $n
        for entry in "$@"; do
            printf "\\x$(printf %02x "${entry%%:*}")"
            le32 $i
            i=$((i + 1))
        done
        le32 $n
        for ((i = 0; i < n; i++)); do
            le32 $i
            if ((i == 0)); then le32 $n; else le32 4294967295; fi
            le32 4294967295
            le32 4294967295
            if ((i == 0)); then
                printf '\x32\x01\x03'
                le32 0; le32 0
                le32 1000000; le32 0
            else
                printf '\xff\xff\x00'
                le32 0; le32 0; le32 0; le32 0
            fi
            le32 0
        done
    } >"$payload"
    printf 'VDTINDEX'
    le32 1
    le32 0
    le32 "$(stat -c %s "$payload")"
    le32 0
    if command -v gzip >/dev/null; then
        gzip -c <"$payload" | tail -c 8 | head -c 4
    else
        le32 0
    fi
    cat "$payload"
    rm -f "$payload"
}

seed_all() {
    local d=$data
    shopt -s nullglob globstar
    if [[ -d $d ]]; then
        echo "== seeds from $d"
    else
        echo "== no data at $d: seeding from the inputs written here only"
    fi

    seed_files feed_lines 40 "$d"/feeds/{firehol,ipsum,phishing,signature-base,talos,threatfox,tweetfeed,unit42}/*.{txt,ipset,netset,txt.gz,netset.gz} "$d"/feeds/eset-malware-ioc/a*/*
    seed_files feed_csv 12 "$d"/feeds/**/*.csv "$d"/flows/**/*.csv{,.gz} "$d"/misp/**/*.csv
    seed_files feed_zeek 12 "$d"/zeek/intel/*.intel
    seed_files feed_misp 16 "$d"/misp/eset-events/*.json "$d"/misp/tweetfeed-feed/*.json
    seed_files feed_stix 24 "$d"/stix/**/*.json
    seed_files allowlist_misp 19 "$d"/misp/warninglists/*.json
    seed_files find_in_text 24 "$d"/logs/**/*.{log,json,log.gz} "$d"/zeek/{json-format,infected-2010,trickbot-2018-11}/*.log
    seed_files log_lines 24 "$d"/logs/**/*.{log,json,log.gz} "$d"/zeek/**/*.log{,.gz} "$d"/zeek/**/*.labeled
    seed_files scan_files 16 "$d"/logs/suricata-eve/* "$d"/zeek/{json-format,infected-2010,trickbot-2018-11}/*.log "$d"/logs/loghub/*.log
    seed_raw scan_files 4 "$d"/logs/**/*.gz "$d"/zeek/**/*.gz
    seed_files feed_sniff_load 4 "$d"/feeds/{firehol,tweetfeed}/*.{netset,txt,csv}
    seed_files feed_sniff_load 4 "$d"/zeek/intel/*.intel
    seed_files feed_sniff_load 4 "$d"/misp/eset-events/*.json
    seed_files feed_sniff_load 4 "$d"/stix/**/*.json
    seed_raw feed_sniff_load 8 "$d"/**/*.gz
    seed_raw decompress 32 "$d"/**/*.gz

    # Patterns of the real bundles, one per seed.
    local n=0 pattern
    for file in "$d"/stix/**/*.json; do
        while IFS= read -r pattern; do
            n=$((n + 1))
            printf '%s' "$pattern" | sed 's/\\"/"/g; s/\\\\/\\/g' | seed stix_pattern "real-$n"
            ((n % 200)) || break 2
        done < <(grep -o '"pattern": *"\([^"\\]\|\\.\)*"' "$file" | sed 's/^"pattern": *"//; s/"$//' | head -20)
    done

    # Values of the real feeds, one per seed, the kind inferred (mode byte 0x0f).
    n=0
    for file in "$d"/feeds/{tweetfeed,signature-base,unit42}/*.txt "$d"/zeek/intel/cps-collected-iocs.intel; do
        [[ -f $file ]] || continue
        while IFS= read -r value; do
            n=$((n + 1))
            { printf '\x0f'; printf '%s' "${value%%[[:space:];]*}"; } | seed normalize_value "real-$n"
        done < <(grep -v '^[#[:space:]]' "$file" | awk 'NR % 40 == 1' | head -30)
    done

    # What the data does not have, or not small.
    local w=$fuzz/corpus
    mkdir -p "$w"/{feed_misp_csv,stix_pattern,normalize_value,index_from_bytes,decompress,engine_updates,find_in_text}
    cat >"$w/feed_misp_csv/seed-export.csv" <<'EOF'
uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category
5c1a0b2e-0000-4000-8000-000000000001,17,Network activity,ip-dst,203.0.113.9,c2,1,1545234567,,tlp:amber,,,
5c1a0b2e-0000-4000-8000-000000000002,17,Network activity,domain|ip,evil.example|198.51.100.7,,1,1545234567,,,,,
5c1a0b2e-0000-4000-8000-000000000003,17,Payload delivery,filename|md5,a.exe|d41d8cd98f00b204e9800998ecf8427e,,1,1545234567,,,,,
5c1a0b2e-0000-4000-8000-000000000004,17,Network activity,url,hxxp://evil[.]example/a,"quoted, comma",0,1545234567,url,,5c1a0b2e-0000-4000-8000-00000000000a,url,network
5c1a0b2e-0000-4000-8000-000000000005,17,Payload delivery,email-src,bad@evil.example,,1,1545234567,,,,,
EOF
    printf 'type,value,to_ids\nhostname,mail.evil.example,1\nip-src|port,10.0.0.1|443,1\n' >"$w/feed_misp_csv/seed-short.csv"
    local p
    for p in "[ipv4-addr:value = '198.51.100.1/32']" \
        "[domain-name:value = 'evil.example'] OR [url:value = 'http://evil.example/a']" \
        "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' AND file:name = 'a.exe']" \
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.5']" \
        "([email-addr:value = 'bad@evil.example'] FOLLOWEDBY [url:value MATCHES '^http']) WITHIN 600 SECONDS" \
        "[file:size > 1024] REPEATS 3 TIMES START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'" \
        "[ipv6-addr:value ISSUBSET '2001:db8::/32' OR domain-name:value LIKE 'ev%']" \
        "[x509-certificate:hashes.'SHA-1' != 'da39a3ee5e6b4b0d3255bfef95601890afd80709' /* c */]"; do
        printf '%s' "$p" | seed stix_pattern "written-$((++n))"
    done
    local v
    for v in '\x00 1.2.3.4/24' '\x80 10.1.2.3/8' '\x01 ::ffff:1.2.3.0/120' '\x02 BÜCHER.de.' '\x04 HTTP://User:pw@Evil.Example:80/a?b#c' \
        '\x04 https://[2001:db8:0::1]:443' '\x05 Alice.B+tag@Evil.Example.' '\x0c  Mozilla/5.0 (x) ' '\x0f 1.2.3.1 - 1.2.3.6' \
        '\x0f evil.example:8080/x' '\x0f xn--bcher-kva.de' '\x06 D41D8CD98F00B204E9800998ECF8427E'; do
        printf "${v%% *}%s" "${v#* }" | seed normalize_value "written-$((++n))"
    done
    printf 'evil.example 1.2.3.4 [2001:db8::1]:443 bad@evil.example http://evil.example/a,b' | seed find_in_text written-1
    printf 'url\thttp://x.example/p?q\nstring\tab\ncc.example\x00GET http://x.example/p?q ab cc.example' | seed find_in_text written-2

    vdx "2:evil.example" "3:mail.evil.example" "0:1.2.3.4" "0:10.0.0.0/8" "0:1.2.3.1-1.2.3.6" "1:2001:db8::1" \
        "1:2001:db8::/32" "4:evil.example/a?q" "4:[2001:db8::1]:8080/x" "5:bad@evil.example" \
        "6:d41d8cd98f00b204e9800998ecf8427e" "7:da39a3ee5e6b4b0d3255bfef95601890afd80709" \
        "9:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "12:Mozilla/5.0 (evil)" \
        >"$w/index_from_bytes/seed-every-kind.vdx"
    vdx "2:evil.example" >"$w/index_from_bytes/seed-one-domain.vdx"
    vdx "4:a.example/p" "4:a.example:8080/" >"$w/index_from_bytes/seed-urls.vdx"
    for file in "$findings"/*.vdx; do
        seed index_from_bytes "finding-$(basename "$file")" <"$file"
    done

    local text="evil.example 1.2.3.4 http://evil.example/a"
    for tool in "gzip -c" "bzip2 -c" "xz -c" "zstd -q -c"; do
        command -v "${tool%% *}" >/dev/null || continue
        printf '%s\n' "$text" | $tool | seed decompress "written-${tool%% *}"
        printf '%s\n' "$text" | $tool | seed feed_sniff_load "written-${tool%% *}"
    done
    # Bytes for arbitrary to decode: any will do.
    printf '\x01\x00\x02\x05a.example\x00\x03\x01\x02' | seed engine_updates written-1
}

seed_all

# --- runs ----------------------------------------------------------------------------

failed=()
summary=()
for t in "${targets[@]}"; do
    artifacts=$fuzz/artifacts/$t
    mkdir -p "$artifacts"
    log=$artifacts/run.log
    before=$(ls "$artifacts")
    # Text longer than 16 KiB mostly slows a target down (an index of a thousand records
    # takes milliseconds to check whole); JSON and compressed seeds cut short are only
    # refused, so those targets take them whole.
    len=16384
    case $t in
        index_from_bytes | decompress | feed_sniff_load | feed_misp | feed_stix | allowlist_misp) len=$max_len ;;
        scan_files) len=32768 ;;
    esac
    dict=()
    case $t in
        stix_pattern) dict=(-dict=dicts/stix_pattern.dict) ;;
        feed_stix | feed_misp | feed_sniff_load | allowlist_misp) dict=(-dict=dicts/json.dict) ;;
    esac
    echo "== $t: ${seconds} s"
    status=0
    (cd "$fuzz" && cargo +nightly fuzz run "${flags[@]}" "$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$len" "${dict[@]}" -detect_leaks=0 \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -print_final_stats=1) >"$log" 2>&1 || status=$?
    stats=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
    execs=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$stats")
    # The inputs this run kept: new files, and any the log names (found again).
    new=$({
        comm -13 <(echo "$before") <(ls "$artifacts")
        grep -oE '(crash|timeout|oom|leak)-[0-9a-f]{40}' "$log"
    } | grep -E '^(crash|timeout|oom|leak)-' | sort -u || true)
    result=ok
    if [[ -n $new ]]; then
        result=FAILED
        failed+=("$t")
        for artifact in $new; do
            # The child's report is not in the log of a fork run: run the input again.
            reason=$(cd "$fuzz" && cargo +nightly fuzz run "${flags[@]}" "$t" "$artifacts/$artifact" -- \
                -timeout=10 -rss_limit_mb=2048 2>&1 |
                grep -m1 -A1 -E "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer" | tr '\n' ' ' || true)
            echo "FAILED $t: fuzz/artifacts/$t/$artifact: ${reason:-see $log}"
        done
    elif ((status != 0)); then
        result=FAILED
        failed+=("$t")
        echo "FAILED $t: exit $status, no input kept: see $log"
    fi
    summary+=("$(printf '%-18s %-7s %8s %7s %7s' "$t" "$result" "${execs:-?}" "${cov:-?}" "${ft:-?}")")
done

echo
printf '%-18s %-7s %8s %7s %7s\n' target result exec/s cov ft
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
