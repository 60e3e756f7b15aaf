#!/usr/bin/env bash
# Builds the real binaries the end-to-end tests run -- kube-apiserver, kubectl,
# etcd, helm and kube-router -- from source fetched through the Go module proxy
# (no prebuilt downloads). Versions are pinned by the small Go modules under
# test/e2e/tools/{kube,etcd,helm,kube-router}, each with its own go.mod/go.sum
# (they are kept apart because they need different k8s.io/* versions).
#
# Binaries go to a cache directory outside the repository, keyed by the pinned
# versions, so a fresh clone on the same machine reuses them:
#   ${NETFENCE_E2E_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netfence-e2e}/<kube>-<etcd>-<helm>/
# kube-router (the dataplane suites' NetworkPolicy enforcer) is cached in its own
# kube-router-<version>/ beside it and linked into that directory, so pinning
# another kube-router does not rebuild the others.
# A binary already present there is not rebuilt. Each one is built under a
# temporary name and renamed into place, so an interrupted build leaves nothing
# half-written.
#
# Progress goes to stderr; the last line on stdout is the bin directory, e.g.
#   BIN_DIR="$(test/e2e/build-binaries.sh | tail -n1)"
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="$script_dir/tools"

log() { printf 'build-binaries: %s\n' "$*" >&2; }

# Version of a module as required in a go.mod (no network, no go invocation).
mod_version() { # <go.mod> <module path>
  local v
  v="$(awk -v m="$2" '
    $1 == "replace" || $2 == "=>" { next }
    { for (i = 1; i < NF; i++) if ($i == m && $(i + 1) ~ /^v[0-9]/) { print $(i + 1); exit } }
  ' "$1")"
  if [[ -z "$v" ]]; then
    log "cannot find $2 in $1"
    exit 1
  fi
  printf '%s\n' "$v"
}

kube_version="$(mod_version "$tools_dir/kube/go.mod" k8s.io/kubernetes)"
etcd_version="$(mod_version "$tools_dir/etcd/go.mod" go.etcd.io/etcd/server/v3)"
helm_version="$(mod_version "$tools_dir/helm/go.mod" helm.sh/helm/v3)"
helm_client_go="$(mod_version "$tools_dir/helm/go.mod" k8s.io/client-go)"
kube_router_version="$(mod_version "$tools_dir/kube-router/go.mod" github.com/cloudnativelabs/kube-router/v2)"

cache_root="${NETFENCE_E2E_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netfence-e2e}"
bin_dir="$cache_root/$kube_version-$etcd_version-$helm_version"
mkdir -p "$bin_dir"

# Static, reproducible builds as upstream ships them. -mod=readonly: the
# committed go.sum files are complete; a missing entry is an error, not a fetch.
export CGO_ENABLED=0
go_build_flags=(-mod=readonly -trimpath -buildvcs=false)

# kube version ldflags (as hack/lib/version.sh sets them), so that
# `kubectl version` and the apiserver's /version report the real release.
kube_minor="${kube_version#v*.}"
kube_minor="${kube_minor%%.*}"
kube_major="${kube_version#v}"
kube_major="${kube_major%%.*}"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version"
  kube_ldflags+=" -X $pkg.gitMajor=$kube_major"
  kube_ldflags+=" -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitCommit="
  kube_ldflags+=" -X $pkg.gitTreeState=clean"
done

# helm's Makefile sets its version and the default Kubernetes version used by
# `helm template` (from the k8s.io/client-go it is built with: v0.N -> 1.N).
helm_k8s_minor="${helm_client_go#v0.}"
helm_k8s_minor="${helm_k8s_minor%%.*}"
helm_ldflags="-s -w"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.version=$helm_version"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.metadata="
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
done

etcd_ldflags="-s -w"

# kube-router's Makefile sets its version the same way (`kube-router --version`).
kube_router_ldflags="-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$kube_router_version"
kube_router_dir="$cache_root/kube-router-$kube_router_version"
mkdir -p "$kube_router_dir"

tmp=""
trap '[[ -z "$tmp" ]] || rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build() { # <name> <module dir> <package> <ldflags> [<output dir>]
  local name="$1" mod_dir="$2" pkg="$3" ldflags="$4" dir="${5:-$bin_dir}"
  local out="$dir/$name"
  if [[ -x "$out" ]]; then
    log "$name: present in $dir"
    return 0
  fi
  tmp="$dir/.$name.tmp.$$"
  log "$name: building $pkg ..."
  local start=$SECONDS
  (cd "$mod_dir" && go build "${go_build_flags[@]}" -ldflags "$ldflags" -o "$tmp" "$pkg") >&2
  mv -f "$tmp" "$out"
  tmp=""
  log "$name: built in $((SECONDS - start))s"
}

build kube-apiserver "$tools_dir/kube" k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kubectl "$tools_dir/kube" k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"
build etcd "$tools_dir/etcd" go.etcd.io/etcd/server/v3 "$etcd_ldflags"
build helm "$tools_dir/helm" helm.sh/helm/v3/cmd/helm "$helm_ldflags"
build kube-router "$tools_dir/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$kube_router_ldflags" "$kube_router_dir"
ln -sfn "$kube_router_dir/kube-router" "$bin_dir/kube-router"

printf '%s\n' "$bin_dir"
