#!/usr/bin/env bash
# Install the Debian packages the tests read back with, when they are missing:
# Chromium (portal end-to-end), LibreOffice (evaluates xlsx formulas), poppler (pdftotext, pdftoppm),
# PostgreSQL (the shared deployment). Needs root and apt; says what is missing otherwise.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v soffice >/dev/null || need+=(libreoffice-calc-nogui libreoffice-writer-nogui)
command -v pdftotext >/dev/null || need+=(poppler-utils)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || command -v postgres >/dev/null || need+=(postgresql)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "system-deps: installing ${need[*]}"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: please install these Debian packages: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
