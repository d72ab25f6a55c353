#!/bin/sh
# Makes sure Debian's headless Chromium is present for the report test (test/report-chromium.test.ts).
# Installs it with apt when /usr/bin/chromium is missing and we are root; otherwise says what to do.
set -eu
if [ -x /usr/bin/chromium ]; then
  echo "chromium: present ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium: /usr/bin/chromium is missing and we are not root; run: sudo apt-get install -y chromium" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
