#!/bin/sh
# Installs the Debian package into a scratch copy of this machine and reports each step, for DebianPackageIT.
# Run inside `unshare --mount --net --pid --fork`: the copy is an overlay of / whose writes go to a tmpfs, with its own
# dpkg database, users and /etc, a private loopback and process tree, so nothing reaches the real system and
# everything is gone when the namespace ends. Each step prints "=== NAME", its output, then "=== rc N".
# Usage: in-scratch-root.sh DEB
set -eu
deb=$1
scratch=$(mktemp -d /tmp/cmon-deb-XXXXXX)
mount -t tmpfs -o size=512m tmpfs "$scratch"
mkdir -p "$scratch/upper" "$scratch/work" "$scratch/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"
root=$scratch/root
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
cp "$deb" "$root/tmp/cmon.deb"
ip link set lo up

step() {
  name=$1; shift
  echo "=== $name"
  set +e
  chroot "$root" /bin/sh -c "$*" 2>&1
  echo "=== rc $?"
  set -e
}

# waits up to 60 s for an HTTP 200 from URL
wait_200='for i in $(seq 1 120); do curl -fsS -o /dev/null "$0" 2>/dev/null && exit 0; sleep 0.5; done; exit 1'
# waits up to 120 s for a line matching PATTERN ($1) in FILE ($0): a server answers before its first log line is out
wait_log='for i in $(seq 1 240); do grep -q "$1" "$0" && exit 0; sleep 0.5; done; exit 1'
export wait_200 wait_log # the steps' shells (chroot) use them

step install 'dpkg -i /tmp/cmon.deb'
step version '/usr/bin/cmon --version'
step user 'getent passwd cmon && stat -c "%U:%G %a" /etc/cmon'
step conffiles 'cat /var/lib/dpkg/info/cmon.conffiles'
step verify 'systemd-analyze verify /usr/lib/systemd/system/cmon-agent.service /usr/lib/systemd/system/cmon-proxy.service'
step security 'systemd-analyze security --offline=yes /usr/lib/systemd/system/cmon-proxy.service | tail -1'
step heap-agent 'CMON_JAVA_OPTS=-XshowSettings:vm /usr/bin/cmon agent --version'
step heap-agent-override 'CMON_JAVA_OPTS="-Xmx100m -XshowSettings:vm" /usr/bin/cmon agent --version'
step heap-proxy 'CMON_JAVA_OPTS=-XshowSettings:vm /usr/bin/cmon proxy --version'
# the agent as its unit starts it (root, the shipped agent.yaml: loopback, no Docker socket in the scratch root)
step agent "$(cat <<'STEP'
exec_start=$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/cmon-agent.service)
$exec_start >/tmp/agent.log 2>&1 &
echo "started: $exec_start"
test -n "$wait_200"
sh -c "$wait_200" http://127.0.0.1:9164/_ping && echo "agent answered /_ping"
sh -c "$wait_log" /tmp/agent.log "agent listening"
cat /tmp/agent.log
STEP
)"
# the proxy as its unit starts it: user cmon, the shipped proxy.yaml, certificates the operator guide's way
step proxy "$(cat <<'STEP'
set -e
cmon ca init --dir /root/ca >/dev/null
cmon cert issue --ca /root/ca --server cmon.example.com --out /etc/cmon >/dev/null
cp /root/ca/ca.pem /etc/cmon/ca.pem
chgrp cmon /etc/cmon/cmon.example.com-key.pem
chmod 0640 /etc/cmon/cmon.example.com-key.pem
exec_start=$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/cmon-proxy.service)
user=$(sed -n 's/^User=//p' /usr/lib/systemd/system/cmon-proxy.service)
setpriv --reuid="$user" --regid="$user" --init-groups $exec_start >/tmp/proxy.log 2>&1 &
pid=$!
echo "started as $user: $exec_start"
sh -c "$wait_200" http://127.0.0.1:9166/-/healthy && echo "proxy answered /-/healthy"
echo "running as $(ps -o user= -p $pid)"
sh -c "$wait_log" /tmp/proxy.log "proxy listening"
kill -TERM $pid
status=0
wait $pid || status=$?
echo "exit status $status"
cat /tmp/proxy.log
STEP
)"
step remove 'dpkg -r cmon && dpkg-query -W -f="\${Status}\n" cmon && ls /etc/cmon /etc/default/cmon-agent /etc/default/cmon-proxy && ls /usr/bin/cmon /usr/share/cmon'
step purge 'dpkg -P cmon; getent passwd cmon; ls /etc/default/cmon-agent /etc/cmon/proxy.yaml'
