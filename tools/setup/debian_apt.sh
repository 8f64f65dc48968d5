# Sourced by tools/setup/build_caffe.sh, tools/gpu/gpu_kit.sh, tools/gpu/gpu_rehearsal.sh and
# tools/fetch_opencv_clips.sh: apt-get on a private sources list of one line, so that fetching a
# Debian package neither needs root nor touches the machine's apt state; and the sha256 check of
# what was fetched.

# The mirror is the one this machine's apt already uses for Debian's main archive.
debian_mirror() {
  local f files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] && files+=("$f")
  done
  [[ ${#files[@]} -gt 0 ]] || return 0
  awk '
    /^[[:space:]]*deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) !~ /security|updates/) { print $i; exit } break } }
    /^URIs:/ { uri = $2 } /^Suites:/ { if (uri != "" && $0 !~ /security/) { print uri; exit } }
  ' "${files[@]}"
}

private_apt() {  # folder "sources line": sets APT_OPTS, apt-get's options for that one line
  mkdir -p "$1/lists/partial" "$1/cache/archives/partial"
  echo "$2" >"$1/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$1/sources.list" -o "Dir::Etc::SourceParts=$1/none"
            -o "Dir::State::Lists=$1/lists" -o "Dir::Cache=$1/cache"
            -o "APT::Sandbox::User=root" -qq)
}

# A source package's files (orig and debian tarballs) downloaded into a folder through a private
# deb-src line of this machine's mirror. Returns 1 when no mirror is known, 2 when apt-get fails.
debian_source() {  # apt-folder dest suite package=version
  local mirror; mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || return 1
  private_apt "$1" "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $3 main"
  echo "$(basename "$0" .sh): fetching Debian source package $4 ($3) from $mirror"
  mkdir -p "$2"
  apt-get "${APT_OPTS[@]}" update && (cd "$2" && apt-get "${APT_OPTS[@]}" source --download-only "$4") \
    || return 2
}

verify_sha256() {  # file expected: the script ends, naming the file, when they differ
  local got; got=$(sha256sum "$1" | cut -d' ' -f1)
  [[ "$got" == "$2" ]] && return
  echo "$(basename "$0" .sh): error: $1 has sha256 $got, expected $2; delete it and run again." >&2
  exit 1
}

# Debian's archives that keep a release after the mirrors drop it: the archive of retired
# releases, and the snapshot archive as it stood on a day the release was still current. Each
# holds the same pool paths as a mirror (docs/setup.md: "The Caffe source").
DEBIAN_RETIRED_ARCHIVE=http://archive.debian.org/debian
DEBIAN_SNAPSHOT_ARCHIVE=http://snapshot.debian.org/archive/debian/20250101T000000Z

# The archives a source package's files are tried from, in order: DEBIAN_POOLS if set (a list of
# archive roots), else this machine's mirror, then the two archives above.
debian_pools() {
  if [[ -n "${DEBIAN_POOLS:-}" ]]; then echo "$DEBIAN_POOLS"; return; fi
  echo "$(debian_mirror) $DEBIAN_RETIRED_ARCHIVE $DEBIAN_SNAPSHOT_ARCHIVE"
}

download() {  # url file: 0 when fetched whole (no curl or wget on a minimal Debian: Python's)
  "${FETCH_PYTHON:-python3}" - "$1" "$2" <<'PY' 2>/dev/null
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=60) as answer, open(sys.argv[2] + ".part", "wb") as out:
    shutil.copyfileobj(answer, out)
PY
  local rc=$?
  [[ $rc == 0 ]] && mv "$2.part" "$2" || rm -f "$2.part"
  return $rc
}

# A source package's files by their pool path, from the first archive that serves them all with
# the expected sha256; an archive that serves a file with another sha256 is refused by name and
# the next one tried. Returns 1, having said what was tried, when none does.
fetch_from_pools() {  # dest pool-folder file sha256 [file sha256 ...]
  local dest=$1 folder=$2 base file sha got whole
  shift 2
  mkdir -p "$dest"
  for base in $(debian_pools); do
    whole=1
    local args=("$@") i
    for ((i = 0; i < ${#args[@]}; i += 2)); do
      file=${args[i]} sha=${args[i + 1]}
      if [[ -f "$dest/$file" ]] && [[ $(sha256sum "$dest/$file" | cut -d' ' -f1) == "$sha" ]]; then
        continue
      fi
      if ! download "$base/pool/main/$folder/$file" "$dest/$file"; then
        echo "$(basename "$0" .sh): $base does not serve $file"
        whole=0; break
      fi
      got=$(sha256sum "$dest/$file" | cut -d' ' -f1)
      if [[ "$got" != "$sha" ]]; then
        echo "$(basename "$0" .sh): refused $file from $base: sha256 $got, expected $sha"
        rm -f "$dest/$file"; whole=0; break
      fi
      echo "$(basename "$0" .sh): fetched $file from $base"
    done
    [[ $whole == 1 ]] && return 0
  done
  return 1
}
