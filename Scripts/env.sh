# Sourced by the scripts: the checkout root, and the Swift toolchain on PATH.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH=$PATH:/opt/swift/usr/bin
fi
