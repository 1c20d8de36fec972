#!/usr/bin/env bash
# A throwaway OpenSSH server on loopback for the SSH runner's tests (Debian's
# openssh-server; nothing configured system-wide): its own host key, a client
# key allowed to log in as the current user, and a known_hosts file that
# names the host key, so the client checks it.
#
#   sshd.sh start DIR PORT   prints three lines: the URL ssh://USER@127.0.0.1:PORT,
#                            the client's private key, the known_hosts file
#   sshd.sh stop DIR         stops the server and every session it serves
set -euo pipefail
cmd="${1:?usage: sshd.sh start DIR PORT | stop DIR}"
dir="${2:?directory}"
sshd=/usr/sbin/sshd
if [[ ! -x "$sshd" ]]; then
  echo "sshd.sh: no OpenSSH server (install Debian's openssh-server: scripts/install-deps.sh)" >&2
  exit 2
fi

case "$cmd" in
  start)
    port="${3:?port}"
    mkdir -p "$dir"
    chmod 700 "$dir"
    [[ -f "$dir/host_key" ]] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    [[ -f "$dir/client_key" ]] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
    cp "$dir/client_key.pub" "$dir/authorized_keys"
    echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
    cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
MaxSessions 64
MaxStartups 64
CONF
    # Privilege separation wants this directory (root only; a non-root sshd
    # runs without privilege separation).
    if ((EUID == 0)); then mkdir -p /run/sshd; fi
    "$sshd" -f "$dir/sshd_config" -E "$dir/sshd.log"
    for _ in $(seq 100); do [[ -s "$dir/sshd.pid" ]] && break; sleep 0.05; done
    echo "ssh://$(id -un)@127.0.0.1:$port"
    echo "$dir/client_key"
    echo "$dir/known_hosts"
    ;;
  stop)
    if [[ -s "$dir/sshd.pid" ]]; then
      pid="$(cat "$dir/sshd.pid")"
      # The sessions first (children of the listener), then the listener.
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$dir/sshd.pid"
    fi
    ;;
  *) echo "sshd.sh: unknown command '$cmd'" >&2; exit 2 ;;
esac
