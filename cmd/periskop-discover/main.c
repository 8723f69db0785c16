/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-discover: the config's services to targets lines on stdout. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "discover.h"
#include "log.h"
#include "ndjson.h"
#include "record.h"
#include "xalloc.h"

static volatile sig_atomic_t got_hup, got_term;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: periskop-discover [-nv] [--once] -c file\n");
	exit(code);
}

/* The current target set of every service, in config order. */
struct state {
	struct targets_rec	*sets;
	size_t			 n;
};

static void
state_release(struct state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		targets_rec_release(&st->sets[i]);
	free(st->sets);
	st->sets = NULL;
	st->n = 0;
}

static int
state_build(struct state *st, const struct conf *conf, char *err,
    size_t errlen)
{
	size_t i;

	st->sets = xcalloc(conf->nservices, sizeof(*st->sets));
	st->n = 0;
	for (i = 0; i < conf->nservices; i++) {
		if (discover_service(&conf->services[i], &st->sets[i], err,
		    errlen) == -1) {
			state_release(st);
			return -1;
		}
		st->n++;
	}
	return 0;
}

static const struct targets_rec *
state_find(const struct state *st, const char *service)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->sets[i].service, service) == 0)
			return &st->sets[i];
	return NULL;
}

static void
emit(const struct targets_rec *t)
{
	struct buf b;

	buf_init(&b);
	record_write_targets(&b, t);
	if (ndjson_write(stdout, b.p, b.len) == -1 || fflush(stdout) == EOF)
		fatal(EX_IOERR, "stdout");
	buf_release(&b);
}

/* Prints what changed from old to cur: new or changed sets, removed ones. */
static void
emit_changes(const struct state *old, const struct state *cur)
{
	const struct targets_rec *o;
	struct targets_rec gone;
	size_t i;

	for (i = 0; i < cur->n; i++) {
		o = state_find(old, cur->sets[i].service);
		if (o == NULL || !discover_same(o, &cur->sets[i]))
			emit(&cur->sets[i]);
	}
	for (i = 0; i < old->n; i++) {
		if (state_find(cur, old->sets[i].service) != NULL)
			continue;
		gone = old->sets[i];
		gone.ntargets = 0;
		emit(&gone);
	}
}

static struct conf *
load(const char *path, int *code)
{
	struct conf *conf;
	char err[1024];

	errno = 0;
	if ((conf = conf_load(path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		*code = errno ? EX_NOINPUT : EX_CONFIG;
	}
	return conf;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct state st = { NULL, 0 }, next;
	struct conf *conf, *nconf;
	struct sigaction sa;
	struct pollfd pfd;
	sigset_t block, empty;
	const char *path = NULL;
	size_t i;
	int ch, once = 0, check = 0, verbose = 0, code;
	char err[1024];

	log_init("periskop-discover", 0);
	while ((ch = getopt_long(argc, argv, "c:hnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'o':
			once = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc || path == NULL)
		usage(EX_USAGE);
	log_init("periskop-discover", verbose);

	if ((conf = load(path, &code)) == NULL)
		return code;
	if (state_build(&st, conf, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", path, err);
		conf_free(conf);
		return EX_CONFIG;
	}
	if (check) {
		printf("configuration OK\n");
		state_release(&st);
		conf_free(conf);
		return fflush(stdout) == EOF ? EX_IOERR : 0;
	}
	for (i = 0; i < st.n; i++)
		emit(&st.sets[i]);
	if (once) {
		state_release(&st);
		conf_free(conf);
		return 0;
	}

	/* Signals are only delivered inside ppoll, so no flag is missed. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	while (!got_term) {
		/* A pipe's write end reports POLLERR once the reader is gone. */
		pfd.fd = STDOUT_FILENO;
		pfd.events = 0;
		if (ppoll(&pfd, 1, NULL, &empty) == 1 &&
		    (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
			break;
		if (!got_hup)
			continue;
		got_hup = 0;
		log_info("%s: reloading", path);
		if ((nconf = load(path, &code)) == NULL) {
			log_warnx("%s: keeping the previous configuration",
			    path);
			continue;
		}
		if (state_build(&next, nconf, err, sizeof(err)) == -1) {
			log_warnx("%s: %s; keeping the previous "
			    "configuration", path, err);
			conf_free(nconf);
			continue;
		}
		emit_changes(&st, &next);
		state_release(&st);
		conf_free(conf);
		st = next;
		conf = nconf;
	}
	state_release(&st);
	conf_free(conf);
	return 0;
}
