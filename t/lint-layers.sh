#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make lint: no file under lib/ includes a header of its own layer's
# other folders or of a higher layer (lib/LAYERS).
set -u
cd "$(dirname "$0")/.." || exit 1
rank() {
	case $1 in
	core) echo 0 ;; discover|client) echo 1 ;; scrape) echo 2 ;;
	store) echo 3 ;; serve|notify) echo 4 ;; run) echo 5 ;; *) echo 99 ;;
	esac
}
bad=0
for f in lib/*/*.[ch]; do
	dir=${f#lib/}; dir=${dir%%/*}
	mine=$(rank "$dir")
	if [ "$mine" = 99 ]; then
		echo "$f: folder '$dir' is not in lib/LAYERS"
		bad=1
		continue
	fi
	for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		set -- lib/*/"$h"
		[ -e "$1" ] || continue
		hdir=${1#lib/}; hdir=${hdir%%/*}
		[ "$hdir" = "$dir" ] && continue
		if [ "$(rank "$hdir")" -ge "$mine" ]; then
			echo "$f includes $hdir/$h: $dir may include only lower layers"
			bad=1
		fi
	done
done
[ $bad -eq 0 ] && echo "lib layers: clean"
exit $bad
