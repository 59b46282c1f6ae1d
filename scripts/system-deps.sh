#!/usr/bin/env bash
# Installs the Debian packages briefkit needs, when they are missing and apt-get is there.
#   build: a Java runtime (epubcheck verifies every EPUB) and DejaVu fonts (embedded in the PDF;
#          the default theme needs all four faces, and the oblique ones are in fonts-dejavu-extra)
#   test:  the same, plus chromium (the reader-portal browser test), LibreOffice Writer and
#          poppler (the Word pack and the handout rendered by readers' programs)
set -euo pipefail
profile=${1:-build}
need=()
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf ] || need+=(fonts-dejavu-extra)
if [ "$profile" = test ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
  command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "briefkit needs: ${need[*]} (install them with your package manager)" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
