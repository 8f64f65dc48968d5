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
