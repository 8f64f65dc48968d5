# Sourced by tools/build_caffe.sh and tools/fetch_opencv_clips.sh: apt-get on a private sources
# list of one line, so that fetching a Debian package neither needs root nor touches the
# machine's apt state.

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
