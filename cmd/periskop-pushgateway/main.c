/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-pushgateway: takes pushed client payloads and serves their exact totals for scraping. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
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

#include "buf.h"
#include "conf.h"
#include "duration.h"
#include "httpd.h"
#include "log.h"
#include "model.h"
#include "periskop.h"
#include "push.h"
#include "scrape.h"
#include "secret.h"
#include "timefmt.h"
#include "xalloc.h"

#define DEFAULT_LISTEN	"127.0.0.1:7878"
#define DEFAULT_BODY	((size_t)1024 * 1024)
#define THREADS		4
#define CONN_TIMEOUT_S	30	/* idle */
#define REQUEST_S	30	/* default: for the headers, then for the body */
#define CONN_MEMORY	(64 * 1024)
#define TEXT_TYPE	"text/plain; charset=utf-8"
#define JSON_TYPE	"application/json"

/* Why a push was refused, for /metrics. */
enum refusal {
	REF_INVALID,		/* 400: not JSON or not a payload */
	REF_TOO_LARGE,		/* 413 */
	REF_CONTENT_TYPE,	/* 415 */
	REF_UNAUTHORIZED,	/* 401 */
	REF_LIMIT,		/* 429: pushers or keys */
	REF_STORAGE,		/* 503: the state could not be saved */
	REF_SLOW,		/* 408: the body took too long */
	REF_N
};
static const char *const refusal_name[REF_N] = {
	"invalid", "too_large", "content_type", "unauthorized", "limit",
	"storage", "slow"
};

/* What one request keeps between the access handler's calls. */
struct conn {
	struct buf	 body;
	double		 begun;		/* monotonic ms of the first call */
	int		 started;
	int		 too_big;
	int		 slow;		/* the body came after request_s */
};

/* Everything the handler threads share; mu guards all of it. */
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static struct push_state *state;
static const char	*state_file;
static char		*token;
static size_t		 max_body = DEFAULT_BODY;
static uint64_t		 accepted, refused[REF_N];
/* The gateway's own failures, served at GET /errors; has its own lock. */
static struct periskop_collector *self;
static unsigned int request_s = REQUEST_S;

static void __attribute__((noreturn))
usage(FILE *f, int code)
{
	fprintf(f, "usage: periskop-pushgateway [-hnv] [-c file] "
	    "[-l addr:port | --listen addr:port]\n"
	    "\t[--state file] [--token-file file] [--max-body bytes]\n"
	    "\t[--max-pushers n] [--max-keys n] [--max-latest n] "
	    "[--ttl duration]\n"
	    "\t[--request-timeout duration]\n");
	exit(code);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	httpd_deadline_rearm(c);
	if (cn != NULL) {
		buf_release(&cn->body);
		free(cn);
		*con_cls = NULL;
	}
}

static enum MHD_Result
answer(struct MHD_Connection *c, int status, const char *type,
    struct buf *b)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	size_t len;
	char *body;

	body = buf_detach(b, &len);
	mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(body);
		return MHD_NO;
	}
	if (type != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, (unsigned int)status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result
text(struct MHD_Connection *c, int status, const char *fmt, ...)
{
	struct buf b;
	enum MHD_Result ret;
	va_list ap;
	char line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_init(&b);
	buf_adds(&b, line);
	ret = answer(c, status, TEXT_TYPE, &b);
	buf_release(&b);
	return ret;
}

/*
 * Reports a refused push to the gateway's own collector, so the server
 * that scrapes GET /errors shows who pushes what wrong.  The headers
 * kept are those that explain a refusal; never Authorization.
 */
static void
report(struct MHD_Connection *c, enum refusal why, int status,
    const char *msg)
{
	static const char *const names[] = { MHD_HTTP_HEADER_CONTENT_TYPE,
	    MHD_HTTP_HEADER_CONTENT_LENGTH, MHD_HTTP_HEADER_USER_AGENT,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING };
	struct periskop_header h[4];
	struct periskop_http_context http;
	struct periskop_exception e;
	char key[128];
	size_t i, n = 0;

	for (i = 0; i < 4; i++) {
		h[n].name = names[i];
		if ((h[n].value = MHD_lookup_connection_value(c,
		    MHD_HEADER_KIND, names[i])) != NULL)
			n++;
	}
	memset(&http, 0, sizeof(http));
	http.method = "POST";
	http.url = "/errors";
	http.headers = h;
	http.nheaders = n;
	memset(&e, 0, sizeof(e));
	e.class = why == REF_STORAGE ? "periskop.StorageError" :
	    "periskop.PushRefused";
	e.message = msg;
	snprintf(key, sizeof(key), "push_%s@%d", refusal_name[why], status);
	periskop_report(self, key, &e, why == REF_STORAGE ?
	    PERISKOP_SEV_ERROR : PERISKOP_SEV_WARNING, &http);
}

static enum MHD_Result
refuse(struct MHD_Connection *c, enum refusal why, int status,
    const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	pthread_mutex_lock(&mu);
	refused[why]++;
	pthread_mutex_unlock(&mu);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	report(c, why, status, line);
	return text(c, status, "%s\n", line);
}

/* The client's address, for the log and as a pusher without a uuid. */
static void
peer(struct MHD_Connection *c, char *host, size_t len)
{
	const union MHD_ConnectionInfo *ci;

	snprintf(host, len, "unknown");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), host,
	    (socklen_t)len, NULL, 0, NI_NUMERICHOST);
}

/*
 * Clients send application/json, text/plain, or (curl -d) a form type
 * with a JSON body; what is clearly something else is refused.
 */
static int
type_ok(const char *ct)
{
	static const char *const good[] = {
		"application/json", "text/plain", "text/json",
		"application/x-www-form-urlencoded",
		"application/octet-stream", NULL
	};
	char t[128];
	size_t i, n;

	if (ct == NULL)
		return 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (n = 0; ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ' &&
	    n < sizeof(t) - 1; n++)
		t[n] = (char)tolower((unsigned char)ct[n]);
	t[n] = '\0';
	if (n == 0)
		return 1;
	for (i = 0; good[i] != NULL; i++)
		if (strcmp(t, good[i]) == 0)
			return 1;
	return n > 5 && strcmp(t + n - 5, "+json") == 0;
}

/* Compares in time that does not depend on where the strings differ. */
static int
token_ok(const char *auth)
{
	size_t i, n, m;
	unsigned char d;

	if (token == NULL)
		return 1;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return 0;
	auth += 7;
	n = strlen(auth);
	m = strlen(token);
	d = n != m;
	for (i = 0; i < m; i++)
		d |= (unsigned char)(token[i] ^ (i < n ? auth[i] : 0));
	return d == 0;
}

static enum MHD_Result
push(struct MHD_Connection *c, struct conn *cn)
{
	struct payload *p;
	char err[1024], host[NI_MAXHOST];
	int64_t now = time_now();
	int r;

	peer(c, host, sizeof(host));
	if (cn->too_big)
		return refuse(c, REF_TOO_LARGE, 413, "request body larger "
		    "than %zu bytes", max_body);
	if ((p = payload_parse(cn->body.p, cn->body.len, err,
	    sizeof(err))) == NULL) {
		log_warnx("push from '%s': %s", host, err);
		return refuse(c, REF_INVALID, 400, "%s", err);
	}
	pthread_mutex_lock(&mu);
	push_expire(state, now);
	r = push_merge(state, p, host, now, err, sizeof(err));
	if (r == 0 && state_file != NULL &&
	    push_save(state, state_file, err, sizeof(err)) == -1)
		r = -2;
	if (r == 0)
		accepted++;
	pthread_mutex_unlock(&mu);
	payload_free(p);
	if (r == -1) {
		log_warnx("push from '%s': %s", host, err);
		return refuse(c, REF_LIMIT, 429, "%s", err);
	}
	if (r == -2) {
		/*
		 * Counts are cumulative, so the client's retry of the same
		 * payload adds nothing twice; until then, say it is not
		 * durable.
		 */
		log_warnx("%s", err);
		return refuse(c, REF_STORAGE, 503, "the state could not be "
		    "saved: %s", err);
	}
	log_debug("push from '%s': accepted", host);
	/* The original answers 200 with an empty body. */
	return text(c, 200, "%s", "");
}

static enum MHD_Result
metrics(struct MHD_Connection *c)
{
	struct buf b;
	enum MHD_Result ret;
	int i;

	buf_init(&b);
	pthread_mutex_lock(&mu);
	buf_adds(&b, "# HELP periskop_pushgateway_pushes_total Pushes "
	    "accepted.\n# TYPE periskop_pushgateway_pushes_total counter\n");
	buf_addf(&b, "periskop_pushgateway_pushes_total %llu\n",
	    (unsigned long long)accepted);
	buf_adds(&b, "# HELP periskop_pushgateway_refused_total Pushes "
	    "refused, by reason.\n"
	    "# TYPE periskop_pushgateway_refused_total counter\n");
	for (i = 0; i < REF_N; i++)
		buf_addf(&b, "periskop_pushgateway_refused_total"
		    "{reason=\"%s\"} %llu\n", refusal_name[i],
		    (unsigned long long)refused[i]);
	buf_adds(&b, "# HELP periskop_pushgateway_pushers Pushers known.\n"
	    "# TYPE periskop_pushgateway_pushers gauge\n");
	buf_addf(&b, "periskop_pushgateway_pushers %zu\n",
	    push_npushers(state));
	buf_adds(&b, "# HELP periskop_pushgateway_keys Aggregation keys "
	    "exposed.\n# TYPE periskop_pushgateway_keys gauge\n");
	buf_addf(&b, "periskop_pushgateway_keys %zu\n", push_nkeys(state));
	pthread_mutex_unlock(&mu);
	ret = answer(c, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
	buf_release(&b);
	return ret;
}

static enum MHD_Result
errors(struct MHD_Connection *c)
{
	struct buf b;
	enum MHD_Result ret;

	buf_init(&b);
	pthread_mutex_lock(&mu);
	push_write_payload(state, &b);
	pthread_mutex_unlock(&mu);
	ret = answer(c, 200, JSON_TYPE, &b);
	buf_release(&b);
	return ret;
}

static enum MHD_Result
own_errors(struct MHD_Connection *c)
{
	struct buf b;
	enum MHD_Result ret;
	size_t len;
	char *p;

	p = periskop_export(self, &len);
	buf_init(&b);
	buf_add(&b, p, len);
	free(p);
	ret = answer(c, 200, JSON_TYPE, &b);
	buf_release(&b);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct conn *cn = *con_cls;
	const char *cl;
	char *end;
	unsigned long long n;
	double late;
	int is_push;

	is_push = strcmp(url, "/errors") == 0;
	if (cn == NULL) {
		cn = xcalloc(1, sizeof(*cn));
		buf_init(&cn->body);
		*con_cls = cn;
	}
	if (!cn->started) {
		cn->started = 1;
		cn->begun = time_mono_ms();
		/* The headers are in; a slow body is timed below, with a 408. */
		httpd_deadline_met(c);
		if (!is_push || strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return MHD_YES;
		/* Refused before the body is read, so it costs nothing. */
		if (!token_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION)))
			return refuse(c, REF_UNAUTHORIZED, 401,
			    "a push needs 'Authorization: Bearer' with the "
			    "gateway's token");
		if (!type_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_TYPE)))
			return refuse(c, REF_CONTENT_TYPE, 415, "content type "
			    "'%s': want application/json or text/plain",
			    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_CONTENT_TYPE));
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno != 0 || n > max_body)
				return refuse(c, REF_TOO_LARGE, 413,
				    "request body larger than %zu bytes",
				    max_body);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0 && is_push) {
		/*
		 * libmicrohttpd cannot answer before the body is in: a late
		 * body is dropped and answered 408 at its end, and one still
		 * trickling at twice the limit is cut off.
		 */
		late = time_mono_ms() - cn->begun;
		if (late > 2000.0 * request_s) {
			log_warnx("push: the body took over %u s to arrive; "
			    "closing", 2 * request_s);
			pthread_mutex_lock(&mu);
			refused[REF_SLOW]++;
			pthread_mutex_unlock(&mu);
			return MHD_NO;
		}
		if (late > 1000.0 * request_s)
			cn->slow = 1;
	}
	if (*upload_data_size > 0) {
		/* A chunked body over the limit is read and dropped. */
		if (!is_push || cn->too_big || cn->slow ||
		    cn->body.len + *upload_data_size > max_body)
			cn->too_big = is_push && !cn->slow;
		else
			buf_add(&cn->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (is_push && cn->slow) {
		log_warnx("push: the body took over %u s to arrive", request_s);
		return refuse(c, REF_SLOW, 408, "the body took over %u s to "
		    "arrive", request_s);
	}
	if (is_push && strcmp(method, MHD_HTTP_METHOD_POST) == 0)
		return push(c, cn);
	if (is_push && strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		return own_errors(c);
	if (is_push && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return text(c, 405, "push with POST\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return text(c, 405, "method not allowed\n");
	if (strcmp(url, "/-/errors") == 0 || strcmp(url, "/-/errors/") == 0)
		return errors(c);
	if (strcmp(url, "/metrics") == 0)
		return metrics(c);
	if (strcmp(url, "/-/health") == 0)
		return text(c, 200, "OK");
	return text(c, 404, "not found\n");
}

/* The saved state, or a new one when the file does not exist yet. */
static struct push_state *
load_state(const char *path, const struct push_limits *l)
{
	struct push_state *s;
	struct buf b;
	char chunk[65536], err[1024];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			log_info("'%s': no state yet, starting empty", path);
			return push_new(l);
		}
		fatal(EX_NOINPUT, "'%s'", path);
	}
	buf_init(&b);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal(EX_IOERR, "'%s'", path);
		}
		buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	/* A state we cannot read is never dropped: someone must look. */
	if ((s = push_load(b.p, b.len, l, err, sizeof(err))) == NULL)
		fatalx(EX_DATAERR, "'%s': not a valid state: %s; move it away to "
		    "start empty", path, err);
	buf_release(&b);
	log_info("'%s': %zu pushers, %zu keys", path, push_npushers(s),
	    push_nkeys(s));
	return s;
}

static size_t
count_arg(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 ||
	    v > 100000000ULL) {
		log_warnx("'%s': want a positive number of %s", s, what);
		usage(stderr, EX_USAGE);
	}
	return (size_t)v;
}

/* The config's pushgateway block, under what the command line set. */
static void
from_conf(const char *path, const char **listen_spec, const char **token_file,
    struct push_limits *lim, const struct push_limits *set, int body_set,
    struct conf **keep)
{
	const struct conf_pushgateway *pg;
	struct conf *conf;
	char err[1024];

	if (access(path, R_OK) == -1)
		fatal(EX_NOINPUT, "'%s'", path);
	if ((conf = conf_load(path, err, sizeof(err))) == NULL)
		fatalx(EX_CONFIG, "%s", err);
	pg = &conf->pushgateway;
	if (!pg->enabled)
		fatalx(EX_CONFIG, "%s: no pushgateway block", path);
	if (*listen_spec == NULL)
		*listen_spec = pg->listen;
	if (state_file == NULL)
		state_file = pg->state;
	if (*token_file == NULL)
		*token_file = pg->token_file;
	if (!body_set && pg->max_body > 0)
		max_body = (size_t)pg->max_body;
	if (set->max_pushers == 0 && pg->max_pushers > 0)
		lim->max_pushers = (size_t)pg->max_pushers;
	if (set->max_keys == 0 && pg->max_keys > 0)
		lim->max_keys = (size_t)pg->max_keys;
	if (set->max_latest == 0 && pg->max_latest > 0)
		lim->max_latest = (size_t)pg->max_latest;
	if (set->ttl_ms == 0 && pg->ttl_ms > 0)
		lim->ttl_ms = pg->ttl_ms;
	*keep = conf;
}

int
main(int argc, char *argv[])
{
	enum { OPT_STATE = 256, OPT_TOKEN, OPT_BODY, OPT_PUSHERS, OPT_KEYS,
	    OPT_LATEST, OPT_TTL, OPT_REQUEST };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "token-file", required_argument, NULL, OPT_TOKEN },
		{ "max-body", required_argument, NULL, OPT_BODY },
		{ "max-pushers", required_argument, NULL, OPT_PUSHERS },
		{ "max-keys", required_argument, NULL, OPT_KEYS },
		{ "max-latest", required_argument, NULL, OPT_LATEST },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "request-timeout", required_argument, NULL, OPT_REQUEST },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/* set: what the command line gave, which the config cannot change. */
	struct push_limits lim, set;
	const char *listen_spec = NULL, *token_file = NULL, *cfile = NULL;
	struct conf *conf = NULL;
	struct httpd_conf hc;
	char err[1024];
	int64_t ms;
	int ch, verbose = 0, check = 0, body_set = 0;

	log_init("periskop-pushgateway", 0);
	push_limits_init(&lim);
	memset(&set, 0, sizeof(set));
	while ((ch = getopt_long(argc, argv, "c:hl:nv", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
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
		case OPT_STATE:
			state_file = optarg;
			break;
		case OPT_TOKEN:
			token_file = optarg;
			break;
		case OPT_BODY:
			if (scrape_parse_size(optarg, &max_body, err,
			    sizeof(err)) == -1 || max_body == 0) {
				log_warnx("--max-body: '%s': %s", optarg,
				    max_body == 0 ? "zero" : err);
				usage(stderr, EX_USAGE);
			}
			body_set = 1;
			break;
		case OPT_PUSHERS:
			lim.max_pushers = set.max_pushers =
			    count_arg(optarg, "pushers");
			break;
		case OPT_KEYS:
			lim.max_keys = set.max_keys = count_arg(optarg, "keys");
			break;
		case OPT_LATEST:
			lim.max_latest = set.max_latest =
			    count_arg(optarg, "occurrences");
			break;
		case OPT_TTL:
			if (duration_parse(optarg, &lim.ttl_ms, err,
			    sizeof(err)) == -1) {
				log_warnx("--ttl: %s", err);
				usage(stderr, EX_USAGE);
			}
			/* 0 (never) is a choice the config cannot undo. */
			set.ttl_ms = lim.ttl_ms > 0 ? lim.ttl_ms : -1;
			break;
		case OPT_REQUEST:
			if (duration_parse(optarg, &ms, err, sizeof(err)) ==
			    -1 || ms < 1000 || ms > 3600 * 1000) {
				log_warnx("--request-timeout: '%s': want 1s to "
				    "1h", optarg);
				usage(stderr, EX_USAGE);
			}
			request_s = (unsigned int)(ms / 1000);
			break;
		default:
			usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc || (check && cfile == NULL))
		usage(stderr, EX_USAGE);
	log_init("periskop-pushgateway", verbose);

	if (cfile != NULL)
		from_conf(cfile, &listen_spec, &token_file, &lim, &set,
		    body_set, &conf);
	if (check) {
		conf_free(conf);
		return conf_check_ok();
	}
	if (listen_spec == NULL)
		listen_spec = DEFAULT_LISTEN;
	if (token_file != NULL && (token = secret_read_token(token_file, err,
	    sizeof(err))) == NULL)
		fatalx(errno != 0 ? EX_NOINPUT : EX_CONFIG, "%s", err);
	state = state_file != NULL ? load_state(state_file, &lim) :
	    push_new(&lim);
	self = periskop_collector_new();

	hc.listen = listen_spec;
	hc.verbose = verbose;
	hc.handler = handle;
	hc.completed = completed;
	hc.threads = THREADS;
	hc.idle_s = CONN_TIMEOUT_S;
	hc.request_s = request_s;
	hc.conn_memory = CONN_MEMORY;
	hc.extra = NULL;
	httpd_run(&hc);
	push_free(state);
	periskop_collector_free(self);
	secret_free(token);
	conf_free(conf);
	return 0;
}
