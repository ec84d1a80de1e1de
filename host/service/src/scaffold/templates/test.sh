#!/bin/sh
# Runs {name} once against the embedded Radist sandbox on each event in events/ and fails
# unless the sandbox received a reply. Needs `switchboard` on the PATH (or SWITCHBOARD=path).
set -eu
cd "$(dirname "$0")"
switchboard="${SWITCHBOARD:-switchboard}"
for event in events/*.json; do
    out=$("$switchboard" run --manifest manifest.toml --event "$event")
    echo "$out"
    echo "$out" | grep -q "the sandbox received 1 message" || {
        echo "FAIL: $event: the sandbox received no reply" >&2
        exit 1
    }
done
echo "ok: {name} replied to every event"
