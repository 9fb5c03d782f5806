#!/usr/bin/env bash
# Maintainers only: refresh the vendored JavaScript from the npm registry's tarballs, check each
# file against the sha256 written below, and print the gzipped total. Users never run it: the files
# are committed, and `make run` needs no node. To upgrade, change a version, run with
# UPDATE_HASHES=1, read the diff of the file, then copy the printed sha256 into this script and
# into VENDORED.md.
set -euo pipefail
cd "$(dirname "$0")/.."

web=src/tocsin/web/static/vendor
tests=tests/web/vendor
#        npm package        version  file in the tarball               destination                 sha256
assets=(
  "htmx.org            2.0.11   package/dist/htmx.min.js            $web/htmx.min.js            d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
  "htmx-ext-sse        2.2.4    package/dist/sse.min.js             $web/htmx-ext-sse.min.js    98a46496de0c3605fbffdce9167ba427bdd9553184f83f149c261891a92c0136"
  "axe-core            4.14.1   package/axe.min.js                  $tests/axe.min.js           29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for line in "${assets[@]}"; do
  read -r package version member destination expected <<<"$line"
  tarball=$(cd "$work" && npm pack --silent "$package@$version")
  tar -xzf "$work/$tarball" -C "$work" "$member"
  actual=$(sha256sum "$work/$member" | cut -d' ' -f1)
  if [[ "$actual" != "$expected" && -z "${UPDATE_HASHES:-}" ]]; then
    echo "sha256 mismatch for $package@$version $member: got $actual, expected $expected" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$destination")"
  cp "$work/$member" "$destination"
  rm -rf "$work/package" "$work/$tarball"
  echo "$package@$version -> $destination  sha256 $actual  $(gzip -9c "$destination" | wc -c) bytes gzipped"
done
echo "JavaScript served to browsers: $(cat "$web"/*.js | gzip -9c | wc -c) bytes gzipped in total"
