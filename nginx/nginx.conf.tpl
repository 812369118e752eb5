{{- /*
  The nginx sidecar of the walker pod: the one source of this configuration.
  The chart renders it with `tpl` (charts/walker/files/nginx.conf.tpl is a
  symlink to this file), so it may use the chart's values. Every path nginx
  writes to is under /tmp (an emptyDir): the container's root filesystem is
  read-only. Keep it compatible with nginx 1.22 (Debian's, used by the tests).
*/ -}}
# More than one worker: a worker busy with one request (a slow password
# hash from an existingSecret, a large body) does not stall the others.
worker_processes {{ .Values.nginx.workerProcesses }};
# Each proxied request holds two connections (client and app).
worker_rlimit_nofile {{ add 64 (mul 2 .Values.nginx.workerConnections) }};
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {
    worker_connections {{ .Values.nginx.workerConnections }};
}

http {
    server_tokens off;
    default_type application/octet-stream;
    sendfile on;

    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;

    # One JSON line per request, with the upstream's timings, the request
    # id that the app logs too, and the W3C trace context the client sent
    # (its trace id is the app's trace_id when the app traces).
    log_format walker escape=json '{"time":"$time_iso8601","request_id":"$request_id",'
        '"remote_addr":"$remote_addr","method":"$request_method","uri":"$request_uri",'
        '"status":$status,"bytes_sent":$body_bytes_sent,"request_time":$request_time,'
        '"upstream_status":"$upstream_status","upstream_connect_time":"$upstream_connect_time",'
        '"upstream_response_time":"$upstream_response_time","user_agent":"$http_user_agent",'
        '"traceparent":"$http_traceparent"}';
    # Buffered: one write per 64 KiB or per second instead of one per request.
    access_log /dev/stdout walker buffer=64k flush=1s;

    client_max_body_size {{ .Values.nginx.clientMaxBodySize }};

    # Slow clients hold connections; these bound how long. The body timeout
    # restarts on every byte, so a client trickling a body is bounded by the
    # per-address connection limit below, not by a timeout.
    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 10s;
    keepalive_timeout 30s;
    lingering_time 10s;
    reset_timedout_connection on;

    # Requests in progress per client address (those still sending their
    # body included): one address cannot take the worker connections.
    # Behind an Ingress every client shares the controller's addresses.
    limit_conn_zone $binary_remote_addr zone=walker_conn_per_addr:1m;
    limit_conn walker_conn_per_addr {{ .Values.nginx.connectionsPerAddress }};
    limit_conn_status 429;
    # Rejections are in the access log (429); one error line each would
    # flood the error log during an attack.
    limit_conn_log_level info;
    limit_req_log_level info;

    # /metrics: requests that do not carry the scraper's credentials are
    # limited per address and in total before the password is checked, so
    # guesses from any number of addresses cannot take nginx's CPU, and the
    # scraper never shares a bucket with them (an empty key is not limited).
    # The scraper's Authorization header comes from the metrics Secret;
    # without it (an existingSecret lacking scraper.map) every request is
    # counted.
    map $http_authorization $walker_metrics_scraper {
        default 0;
        include /etc/nginx/metrics-scraper/*.map;
    }
    map $walker_metrics_scraper $walker_metrics_guess_per_addr {
        1 "";
        default $binary_remote_addr;
    }
    map $walker_metrics_scraper $walker_metrics_guess_all {
        1 "";
        default all;
    }
    limit_req_zone $walker_metrics_guess_per_addr zone=metrics_guess_per_addr:1m rate={{ .Values.nginx.metricsRateLimit }};
    limit_req_zone $walker_metrics_guess_all zone=metrics_guess_all:64k rate={{ .Values.nginx.metricsTotalRateLimit }};
    limit_req_status 429;

    # Behind an Ingress that terminates TLS, keep the scheme it saw.
    map $http_x_forwarded_proto $walker_forwarded_proto {
        default $http_x_forwarded_proto;
        "" $scheme;
    }

    upstream walker_app {
        server 127.0.0.1:{{ .Values.app.port }};
        keepalive 32;
    }

    upstream walker_metrics {
        server 127.0.0.1:{{ .Values.app.metricsPort }};
        keepalive 2;
    }

    server {
        listen {{ .Values.nginx.port }};

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $walker_forwarded_proto;
        proxy_set_header X-Request-ID $request_id;
        # W3C trace context, passed on as the client sent it (nginx makes no
        # span of its own): the app's span joins the caller's trace. An
        # absent header stays absent.
        proxy_set_header traceparent $http_traceparent;
        proxy_set_header tracestate $http_tracestate;
        proxy_connect_timeout 5s;
        proxy_read_timeout 60s;

        # The app's metrics listener is bound to 127.0.0.1 in the pod; this
        # is the only way in, and only with the password.
        location = /metrics {
            limit_req zone=metrics_guess_per_addr burst={{ .Values.nginx.metricsRateBurst }} nodelay;
            limit_req zone=metrics_guess_all burst={{ .Values.nginx.metricsTotalRateBurst }} nodelay;
            auth_basic "walker metrics";
            auth_basic_user_file /etc/nginx/htpasswd/htpasswd;
            proxy_pass http://walker_metrics;
        }

        location = /nginx-health {
            access_log off;
            default_type text/plain;
            return 200 "ok\n";
        }

        location / {
            proxy_pass http://walker_app;
        }
    }
}
