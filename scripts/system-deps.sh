#!/usr/bin/env bash
# Installs the Debian packages briefkit needs, when they are missing and apt-get is there.
#   build: a Java runtime (epubcheck verifies every EPUB) and DejaVu fonts (embedded in the PDF;
#          the default theme needs all four faces, and the oblique ones are in fonts-dejavu-extra)
#   test:  the same, plus chromium (the reader-portal browser test), LibreOffice Writer and
#          poppler (the Word pack and the handout rendered by readers' programs), and DAISY Ace,
#          through npm, which checks the EPUB's accessibility against that chromium
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
  command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
fi
install_ace() {
  # Ace drives the chromium above: neither puppeteer nor electron (unused by the CLI) fetches a browser.
  # Pinned, as its rules change between releases; it runs on Debian 12's Node 18 too, though it asks for 20.
  [ "$profile" = test ] && ! command -v ace-puppeteer >/dev/null 2>&1 || return 0
  $SUDO env PUPPETEER_SKIP_DOWNLOAD=1 ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm install -g --no-fund --no-audit @daisy/ace@1.4.6
}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
[ ${#need[@]} -eq 0 ] && { install_ace; exit 0; }
if ! command -v apt-get >/dev/null 2>&1; then
  echo "briefkit needs: ${need[*]} (install them with your package manager)" >&2
  exit 1
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
install_ace
