#!/usr/bin/env bash
# System packages behind the test suite's real components, from Debian's archive:
#   postgresql  - the tests start a throwaway PostgreSQL server (initdb + pg_ctl in a temp dir)
#                 and run the intake service against it;
#   chromium    - the triage page is tested end to end in headless Chromium (driven by Playwright,
#                 which uses /usr/bin/chromium and downloads no browser).
# Installs only what is missing; needs root or sudo. `.ci/run` calls it before the tests.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if ((${#need[@]} == 0)); then
  echo "setup-system: chromium and postgresql are installed"
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "setup-system: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
