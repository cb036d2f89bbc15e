# shellcheck shell=bash
# Shared by the benchmarks that measure against Debian's nginx (sourced, not run).
#
#   nginx_start DIR PORT BLOCKS [LAUNCHER...]
# writes DIR/nginx.conf — one worker, no master, no access log, keep-alive
# connections that never expire, every temporary path inside DIR — with
# BLOCKS (server and upstream blocks) inside its `http {}`, starts nginx in
# the background (through LAUNCHER, e.g. `taskset -c 0`, when given), waits
# up to 5 s for 127.0.0.1:PORT to accept, and sets `nginx_pid`.
#
#   free_port
# prints a TCP port free on 127.0.0.1 right now.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

nginx_start() {
  local dir="$1" port="$2" blocks="$3"
  shift 3
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
$blocks
}
CONF
  "$@" /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" &
  # shellcheck disable=SC2034  # read by the caller
  nginx_pid=$!
  local _
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nginx did not start on port $port:" >&2
  tail -5 "$dir/error.log" >&2
  return 1
}
