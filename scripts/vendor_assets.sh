#!/usr/bin/env bash
# Fetch third-party front-end assets from the npm registry and vendor them into the repo.
# A developer runs this on purpose when upgrading; CI and the app never call npm.
set -euo pipefail
KERN_VERSION=2.7.2
FIRA_VERSION=5.3.0   # only for the SIL OFL licence text of Fira Sans
AXE_VERSION=4.11.0

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "@kern-ux/native@${KERN_VERSION}" "@fontsource/fira-sans@${FIRA_VERSION}" "axe-core@${AXE_VERSION}" >/dev/null
mkdir kern fira axe
tar xzf kern-ux-native-${KERN_VERSION}.tgz -C kern
tar xzf fontsource-fira-sans-${FIRA_VERSION}.tgz -C fira
tar xzf axe-core-${AXE_VERSION}.tgz -C axe

dest="$root/static/vendor/kern"
rm -rf "$dest" && mkdir -p "$dest/fonts/fira-sans" "$dest/js"
cp kern/package/dist/kern.min.css "$dest/"
cp kern/package/dist/js/kern-kopfzeile.js "$dest/js/"
cp kern/package/LICENSE.md "$dest/LICENSE.md"
cp fira/package/LICENSE "$dest/fonts/OFL.txt"
# Only the weights the stylesheet declares (300-700), not the whole family.
for w in Light LightItalic Regular Italic Medium MediumItalic SemiBold SemiBoldItalic Bold BoldItalic; do
  cp "kern/package/dist/fonts/fira-sans/FiraSans-$w.woff2" "$dest/fonts/fira-sans/"
done
cp kern/package/dist/fonts/fira-sans.css "$dest/fonts/fira-sans.css"
echo "@kern-ux/native ${KERN_VERSION} (EUPL-1.2), Fira Sans (SIL OFL 1.1)" > "$dest/VERSION"

mkdir -p "$root/tests/browser/vendor"
cp axe/package/axe.min.js "$root/tests/browser/vendor/axe.min.js"
cp axe/package/LICENSE "$root/tests/browser/vendor/axe-LICENSE.txt"
echo "vendored into $dest and tests/browser/vendor"
