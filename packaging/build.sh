#!/usr/bin/env bash
# One command for every package: bundle the applications with esbuild, stage
# each package's tree once, then build the .deb (dpkg-deb) and the .rpm
# (rpmbuild) from that same tree.
#
# Usage: bash packaging/build.sh [OUT]        (default packaging/out)
#   PKG_COMPRESS=fast trades 10-15% of package size for several minutes of
#   build time on a small machine (the tests use it); the default is best.
# Needs: node, dpkg-deb and dpkg-shlibdeps (dpkg-dev), rpmbuild (rpm), gzip.
# Output: OUT/<package>_<version>_<arch>.deb and OUT/<package>-<version>.<arch>.rpm
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$(realpath -m "${1:-packaging/out}")

for tool in node dpkg-deb dpkg-shlibdeps rpmbuild gzip strip; do
  command -v "$tool" >/dev/null || { echo "build: $tool is missing (apt-get install dpkg-dev rpm)" >&2; exit 1; }
done

version=$(node -p "require('./package.json').version")
release=1
maintainer=${DEB_MAINTAINER:-"ServiceRadar NetFlow maintainers <netflow@serviceradar.dev>"}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
case "${PKG_COMPRESS:-best}" in
  best) deb_level=6; rpm_payload=w19.zstdio ;;
  fast) deb_level=1; rpm_payload=w3.zstdio ;;
  *) echo "build: PKG_COMPRESS is best or fast" >&2; exit 2 ;;
esac

rm -rf "$out"
mkdir -p "$out"

# The generated flow codec is the only build step the bundle needs: esbuild
# reads the TypeScript sources directly.
node scripts/gen-proto.mjs
# The UI's static export, rebuilt when any of its sources is newer.
ui_out=core-extension/ui/out/index.html
if [[ ! -f "$ui_out" ]] || [[ -n "$(find core-extension/ui -path core-extension/ui/out -prune -o -path core-extension/ui/.next -prune -o -type f -newer "$ui_out" -print -quit)" ]]; then
  echo "build: building the web UI"
  npm run --silent build:ui
fi
node packaging/bundle.mjs "$out/apps"

# Every file 0644 or 0755, every folder 0755; shared objects are not executables.
normalize() {
  find "$1" -type d -exec chmod 0755 {} +
  find "$1" -type f -perm /111 -exec chmod 0755 {} +
  find "$1" -type f ! -perm /111 -exec chmod 0644 {} +
  find "$1" -type f \( -name '*.so' -o -name '*.node' \) -exec chmod 0644 {} +
}

# stage DIR: the package's files, without units or package metadata, in $stage.
stage() {
  local dir=$1
  stage=$out/stage/$NAME
  mkdir -p "$stage/usr/lib/$NAME" "$stage/usr/bin" "$stage/usr/share/doc/$NAME" "$stage/usr/share/man/man1"
  local app=$out/apps/$NAME
  cp -a "$app/dist" "$app/proto" "$stage/usr/lib/$NAME/"
  [[ -d "$app/node_modules" ]] && cp -a "$app/node_modules" "$stage/usr/lib/$NAME/"
  if [[ -d "$stage/usr/lib/$NAME/node_modules" ]]; then
    # READMEs and type declarations are of no use at run time; the license
    # texts are in third-party-licenses.txt with those of the bundled packages.
    find "$stage/usr/lib/$NAME/node_modules" -type f \( -iname 'README*' -o -iname 'LICENSE*' -o -name '*.d.ts' -o -name '*.map' \) -delete
    # As dh_strip does: the symbols are of no use to a running service (-11 MB).
    find "$stage/usr/lib/$NAME/node_modules" -type f \( -name '*.so' -o -name '*.node' \) \
      -exec strip --strip-unneeded --remove-section=.comment --remove-section=.note {} +
  fi
  ln -s "../lib/$NAME/dist/bin/$NAME.mjs" "$stage/usr/bin/$NAME"
  cp -a "$dir/etc" "$stage/etc"
  cp "$dir/README" "$stage/usr/share/doc/$NAME/README"
  cp "$app/third-party-licenses.txt" "$stage/usr/share/doc/$NAME/third-party-licenses.txt"
  cp "$app/bundle-manifest.json" "$stage/usr/share/doc/$NAME/bundle-manifest.json"
  sed -e "s/@NAME@/$NAME/g" -e "s/@YEAR@/$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)/g" packaging/common/copyright.in > "$stage/usr/share/doc/$NAME/copyright"
  gzip -9n < "$dir/$NAME.1" > "$stage/usr/share/man/man1/$NAME.1.gz"
  if [[ "$UI" == yes ]]; then
    mkdir -p "$stage/usr/share/$NAME" "$stage/usr/lib/$NAME/core-extension/ui"
    cp -a core-extension/ui/out "$stage/usr/share/$NAME/ui"
    # Where the core finds its UI when http.ui_dir is empty (<root>/core-extension/ui/out).
    ln -s "../../../../share/$NAME/ui" "$stage/usr/lib/$NAME/core-extension/ui/out"
  fi
  find "$stage" -type d -empty -delete
  normalize "$stage"
  chmod 0755 "$stage/usr/lib/$NAME/dist/bin/$NAME.mjs"
}

conffiles() { (cd "$1" && find etc -type f | sort | sed 's|^|/|'); }

fill() {
  sed -e "s|@NAME@|$NAME|g" -e "s|@SVC_USER@|$SVC_USER|g" -e "s|@UNITS@|$UNITS|g" \
      -e "s|@STATE_DIRS@|$STATE_DIRS|g" -e "s|@CONFFILES@|$(conffiles "$stage" | tr '\n' ' ' | sed 's/ $//')|g" "$1"
}

# The Depends of native code, as dpkg-shlibdeps works them out from the ELF files.
shlib_depends() {
  local objs; mapfile -t objs < <(find "$1" -type f \( -name '*.so' -o -name '*.node' \))
  ((${#objs[@]})) || return 0
  local work; work=$(mktemp -d)
  mkdir -p "$work/debian"
  printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$NAME" "$NAME" > "$work/debian/control"
  # libduckdb.so is private to the package: found beside the addon, not in the system.
  (cd "$work" && dpkg-shlibdeps -O -l"$(dirname "$(find "$1" -name 'libduckdb.so' | head -1)")" "${objs[@]}" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
  rm -rf "$work"
}

build_deb() {
  local dir=$1 tree=$out/deb/$NAME
  mkdir -p "$out/deb"
  cp -al "$stage" "$tree"
  mkdir -p "$tree/lib/systemd/system" "$tree/DEBIAN"
  for unit in $UNITS; do install -m 0644 "$dir/$unit" "$tree/lib/systemd/system/$unit"; done
  local date; date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
  printf '%s (%s-%s) unstable; urgency=medium\n\n  * Built from serviceradar-netflow %s.\n\n -- %s  %s\n' \
    "$NAME" "$version" "$release" "$revision" "$maintainer" "$date" | gzip -9n > "$tree/usr/share/doc/$NAME/changelog.Debian.gz"
  chmod 0644 "$tree/usr/share/doc/$NAME/changelog.Debian.gz"
  local depends="nodejs (>= 20), adduser" native
  native=$(shlib_depends "$tree")
  [[ -n "$native" ]] && depends="$depends, $native"
  {
    echo "Package: $NAME"
    echo "Version: $version-$release"
    echo "Architecture: $DEB_ARCH"
    echo "Maintainer: $maintainer"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$tree" | cut -f1)"
    echo "Depends: $depends"
    echo "Section: net"
    echo "Priority: optional"
    echo "Homepage: https://github.com/carverauto/serviceradar"
    echo "Description: $SUMMARY"
    echo "$DESCRIPTION" | sed 's/^/ /'
  } > "$tree/DEBIAN/control"
  conffiles "$tree" > "$tree/DEBIAN/conffiles"
  for script in postinst prerm postrm; do
    fill "packaging/common/$script.in" > "$tree/DEBIAN/$script"
    chmod 0755 "$tree/DEBIAN/$script"
  done
  install -m 0644 -D "$dir/lintian-overrides" "$tree/usr/share/lintian/overrides/$NAME"
  (cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$tree/DEBIAN/md5sums"
  chmod 0644 "$tree/DEBIAN/control" "$tree/DEBIAN/conffiles" "$tree/DEBIAN/md5sums"
  dpkg-deb --root-owner-group -Zxz -z"$deb_level" --build "$tree" "$out/${NAME}_${version}-${release}_${DEB_ARCH}.deb" >/dev/null
  echo "build: $(basename "$out/${NAME}_${version}-${release}_${DEB_ARCH}.deb")"
}

build_rpm() {
  local dir=$1 tree=$out/rpm/$NAME top=$out/rpmbuild
  mkdir -p "$out/rpm" "$top"
  cp -al "$stage" "$tree"
  mkdir -p "$tree/usr/lib/systemd/system"
  for unit in $UNITS; do install -m 0644 "$dir/$unit" "$tree/usr/lib/systemd/system/$unit"; done
  local files
  files=$(
    echo "/usr/bin/$NAME"
    echo "/usr/lib/$NAME"
    echo "/usr/share/doc/$NAME"
    echo "/usr/share/man/man1/$NAME.1.gz"
    [[ "$UI" == yes ]] && echo "/usr/share/$NAME"
    for unit in $UNITS; do echo "/usr/lib/systemd/system/$unit"; done
    (cd "$tree" && find etc -mindepth 1 -type d | sort) | sed 's|^|%dir /|'
    conffiles "$tree" | sed "s|^|%config(noreplace) %attr(0640,root,$SVC_USER) |"
    if [[ -n "$STATE_DIRS" ]]; then
      echo "%dir /var/lib/serviceradar-netflow"
      for entry in $STATE_DIRS; do
        local name=${entry%%:*} mode=${entry#*:} group=$SVC_USER
        [[ "$mode" == 2* ]] && group=serviceradar-netflow
        mkdir -p "$tree/var/lib/serviceradar-netflow/$name"
        echo "%dir %attr($mode,$SVC_USER,$group) /var/lib/serviceradar-netflow/$name"
      done
    fi
  )
  local spec=$out/rpm/$NAME.spec description
  description=$(echo "$DESCRIPTION")
  fill packaging/common/package.spec.in | awk -v files="$files" -v desc="$description" \
    -v version="$version" -v release="$release" -v summary="$SUMMARY" -v arch="$RPM_ARCH" -v stage="$tree" '
    { gsub(/@VERSION@/, version); gsub(/@RELEASE@/, release); gsub(/@RPM_ARCH@/, arch); gsub(/@STAGE@/, stage)
      if ($0 ~ /@SUMMARY@/) sub(/@SUMMARY@/, summary)
      if ($0 == "@DESCRIPTION@") { print desc; next }
      if ($0 == "@FILES@") { print files; next }
      print }' > "$spec"
  rpmbuild -bb --quiet --define "_topdir $top" --define "_rpmdir $out/rpm/out" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "_binary_payload $rpm_payload" "$spec" >/dev/null
  mv "$out/rpm/out/$NAME-$version-$release.$RPM_ARCH.rpm" "$out/"
  echo "build: $NAME-$version-$release.$RPM_ARCH.rpm"
}

for conf in packaging/*/package.conf; do
  dir=$(dirname "$conf")
  # shellcheck disable=SC1090
  NAME='' SUMMARY='' DESCRIPTION='' DEB_ARCH='' RPM_ARCH='' SVC_USER='' UNITS='' STATE_DIRS='' UI=''
  source "$conf"
  stage "$dir"
  build_deb "$dir"
  build_rpm "$dir"
done

rm -rf "$out/stage" "$out/deb" "$out/rpm" "$out/rpmbuild" "$out/apps"
ls -l "$out"
