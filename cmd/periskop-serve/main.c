/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-serve: the HTTP API and the browser UI, with libmicrohttpd. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sysexits.h>

#include "api.h"
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "httpd.h"
#include "log.h"
#include "paths.h"
#include "periskop.h"
#include "secret.h"
#include "xalloc.h"

#define DEFAULT_LISTEN	"127.0.0.1:8080"
#define THREADS		4
#define CONN_TIMEOUT_S	30
/* Request line and headers must fit in this (MHD answers 431 or 413). */
#define CONN_MEMORY	(64 * 1024)
#define CONN_MAX	4096

/* What one request keeps between the access handler's calls. */
struct conn {
	char	*uri;		/* the raw request target, as sent */
	size_t	 body;		/* request body bytes seen (and dropped) */
	int	 started;
};

/* A worker thread's database handle and the JSON rendered from it. */
struct worker {
	struct db		*db;
	struct api_cache	*cache;
};

static struct api_conf	 api_conf;
static const char	*db_uri;
static pthread_key_t	 worker_key;

static void __attribute__((noreturn))
usage(FILE *f, int code)
{
	fprintf(f, "usage: periskop-serve [-hnv] [-c file] "
	    "[-d uri | --db uri] [-l addr:port | --listen addr:port]\n"
	    "\t[--ui dir] [--cors origin] [--token-file file] "
	    "[--read-only]\n"
	    "\t[--metrics-no-target] [--timeout seconds]\n");
	exit(code);
}

static void
worker_destroy(void *p)
{
	struct worker *w = p;

	api_cache_free(w->cache);
	db_close(w->db);
	free(w);
}

/*
 * SQLite handles must not be shared between threads, so each worker of
 * the pool opens its own on first use; the key's destructor closes it
 * when the worker exits.  NULL (answered 503) while the database fails,
 * and tried again on the next request.
 */
static struct worker *
thread_worker(void)
{
	struct worker *w;
	char err[512];

	if ((w = pthread_getspecific(worker_key)) == NULL) {
		w = xcalloc(1, sizeof(*w));
		w->cache = api_cache_new();
		pthread_setspecific(worker_key, w);
	}
	if (w->db == NULL &&
	    (w->db = db_open(db_uri, NULL, err, sizeof(err))) == NULL)
		log_warnx("%s", err);
	return w;
}

static int
is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6;
	const unsigned char *b;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return 1;
	b = s6->sin6_addr.s6_addr;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127;
}

static void *
uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *cn = xcalloc(1, sizeof(*cn));

	cn->uri = xstrdup(uri);
	return cn;
}

/* Leaves the path escaped: api.c splits it first, then decodes each part. */
static size_t
unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	httpd_deadline_rearm(c);
	if (cn != NULL) {
		free(cn->uri);
		free(cn);
		*con_cls = NULL;
	}
}

static void
blob_done(void *cls)
{
	api_blob_unref(cls);
}

static enum MHD_Result
send_resp(struct MHD_Connection *c, struct api_resp *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	size_t i, len;
	char *body;

	if (r->blob != NULL) {
		/* Cached text goes out as it is; the response holds a ref. */
		mr = MHD_create_response_from_buffer_with_free_callback_cls(
		    r->blob->len, r->blob->p, blob_done,
		    api_blob_ref(r->blob));
		if (mr == NULL)
			api_blob_unref(r->blob);
	} else {
		body = buf_detach(&r->body, &len);
		mr = MHD_create_response_from_buffer(len, body,
		    MHD_RESPMEM_MUST_FREE);
		if (mr == NULL)
			free(body);
	}
	if (mr == NULL)
		return MHD_NO;
	if (r->content_type != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->content_type);
	for (i = 0; i < r->nheaders; i++)
		MHD_add_response_header(mr, r->headers[i].name,
		    r->headers[i].value);
	ret = MHD_queue_response(c, (unsigned int)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* Answers a request refused before its body: status and a line of text. */
static enum MHD_Result
refuse(struct MHD_Connection *c, int status, const char *text)
{
	struct api_resp r;
	enum MHD_Result ret;

	api_resp_init(&r);
	buf_adds(&r.body, text);
	r.status = status;
	r.content_type = "text/plain; charset=utf-8";
	ret = send_resp(c, &r);
	api_resp_release(&r);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	const union MHD_ConnectionInfo *ci;
	struct conn *cn = *con_cls;
	struct api_resp r;
	struct api_req req;
	struct worker *w;
	enum MHD_Result ret;
	const char *cl;
	char *end;
	unsigned long long n;

	if (cn == NULL) {
		cn = uri_log(NULL, url, c);
		*con_cls = cn;
	}
	if (!cn->started) {
		cn->started = 1;
		httpd_deadline_met(c);
		/* RFC 9112 3.2: an HTTP/1.1 request without Host is a 400. */
		if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_HOST) == NULL)
			return refuse(c, 400, "no Host header\n");
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno != 0 || n > API_MAX_BODY)
				return refuse(c, 413,
				    "request body too large\n");
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Bodies are not used: count them and drop them. */
		cn->body += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (cn->body > API_MAX_BODY)
		return refuse(c, 413, "request body too large\n");

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.target = cn->uri;
	req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	req.loopback = ci != NULL && is_loopback(ci->client_addr);

	w = thread_worker();
	api_resp_init(&r);
	api_handle_cached(&api_conf, w->db, w->cache, &req, &r);
	log_debug("'%s %s': %d", method, cn->uri, r.status);
	ret = send_resp(c, &r);
	api_resp_release(&r);
	return ret;
}

int
main(int argc, char *argv[])
{
	enum { OPT_UI = 256, OPT_CORS, OPT_TOKEN, OPT_RO, OPT_NOTARGET,
	    OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "ui", required_argument, NULL, OPT_UI },
		{ "cors", required_argument, NULL, OPT_CORS },
		{ "token-file", required_argument, NULL, OPT_TOKEN },
		{ "read-only", no_argument, NULL, OPT_RO },
		{ "metrics-no-target", no_argument, NULL, OPT_NOTARGET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfile = NULL, *listen_spec = NULL, *ui = NULL;
	const char *token_file = NULL;
	char *conf_uri = NULL, *conf_listen = NULL, *ui_default = NULL;
	char *notify_metrics = NULL;
	char err[1024], *end;
	unsigned long timeout = CONN_TIMEOUT_S;
	/* The raw URI kept per request, and paths left escaped for api.c. */
	const struct MHD_OptionItem extra[] = {
		{ MHD_OPTION_CONNECTION_LIMIT, CONN_MAX, NULL },
		{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_log, NULL },
		{ MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_none, NULL },
		{ MHD_OPTION_END, 0, NULL }
	};
	struct httpd_conf hc;
	struct conf *conf;
	struct stat st;
	struct db *db;
	int ch, verbose = 0, check = 0, transient;

	log_init("periskop-serve", 0);
	while ((ch = getopt_long(argc, argv, "c:d:hl:nv", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'd':
			db_uri = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 'l':
			listen_spec = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_UI:
			ui = optarg;
			break;
		case OPT_CORS:
			api_conf.cors_origin = optarg;
			break;
		case OPT_TOKEN:
			token_file = optarg;
			break;
		case OPT_RO:
			api_conf.read_only = 1;
			break;
		case OPT_NOTARGET:
			api_conf.metrics_no_target = 1;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			timeout = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    timeout == 0 || timeout > 3600) {
				log_warnx("'%s': want a timeout from 1 to 3600 "
				    "seconds", optarg);
				usage(stderr, EX_USAGE);
			}
			break;
		default:
			usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc || (check && cfile == NULL))
		usage(stderr, EX_USAGE);
	log_init("periskop-serve", verbose);

	if (cfile != NULL) {
		if (access(cfile, R_OK) == -1)
			fatal(EX_NOINPUT, "'%s'", cfile);
		if ((conf = conf_load(cfile, err, sizeof(err))) == NULL)
			fatalx(EX_CONFIG, "%s", err);
		conf_uri = db_uri_choose(db_uri, conf);
		if (conf->server.listen != NULL)
			conf_listen = xstrdup(conf->server.listen);
		if (conf->notify.enabled)
			notify_metrics = xasprintf("%s/metrics",
			    conf->notify.spool);
		conf_free(conf);
		if (check) {
			free(conf_uri);
			free(conf_listen);
			free(notify_metrics);
			return conf_check_ok();
		}
	}
	if (conf_uri == NULL)
		conf_uri = db_uri_choose(db_uri, NULL);
	db_uri = conf_uri;
	if (db_uri == NULL) {
		log_warnx("no database: give --db, PERISKOP_DB or a config "
		    "with a repository block");
		usage(stderr, EX_USAGE);
	}
	if (listen_spec == NULL)
		listen_spec = conf_listen != NULL ? conf_listen :
		    DEFAULT_LISTEN;
	if (token_file != NULL)
		if ((api_conf.token = secret_read_token(token_file, err,
		    sizeof(err))) == NULL)
			fatalx(errno != 0 ? EX_NOINPUT : EX_CONFIG, "%s", err);
	if (ui != NULL) {
		if (stat(ui, &st) == -1)
			fatal(EX_NOINPUT, "'%s'", ui);
		if (!S_ISDIR(st.st_mode))
			fatalx(EX_NOINPUT, "'%s': not a folder", ui);
		api_conf.ui_dir = ui;
	} else if ((ui_default = paths_share("ui")) != NULL)
		api_conf.ui_dir = ui_default;
	else
		log_info("no UI folder found: serving the API only");

	/* Open once up front, so a bad URI is an error at start. */
	if ((db = db_open(db_uri, &transient, err, sizeof(err))) == NULL)
		fatalx(db_open_status(transient), "%s", err);
	db_close(db);
	if ((errno = pthread_key_create(&worker_key, worker_destroy)) != 0)
		fatal(EX_OSERR, "pthread_key_create");
	api_conf.self = periskop_collector_new();
	api_conf.extra_metrics = notify_metrics;

	hc.listen = listen_spec;
	hc.verbose = verbose;
	hc.handler = handle;
	hc.completed = completed;
	hc.threads = THREADS;
	hc.idle_s = hc.request_s = (unsigned int)timeout;
	hc.conn_memory = CONN_MEMORY;
	hc.extra = extra;
	httpd_run(&hc);
	free(conf_uri);
	free(conf_listen);
	free(ui_default);
	secret_free((char *)api_conf.token);
	periskop_collector_free(api_conf.self);
	free(notify_metrics);
	return 0;
}
