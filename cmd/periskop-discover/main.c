/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-discover: the config's services to targets lines on stdout. */
#include <errno.h>
#include <fcntl.h>
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

/* The last set printed for each service, by name, across reloads. */
struct printed {
	struct targets_rec	*sets;
	size_t			 n;
};

static struct targets_rec *
printed_find(struct printed *pr, const char *service)
{
	size_t	 i;

	for (i = 0; i < pr->n; i++)
		if (strcmp(pr->sets[i].service, service) == 0)
			return &pr->sets[i];
	return NULL;
}

static void
emit(const struct targets_rec *t)
{
	struct buf	 b;

	buf_init(&b);
	record_write_targets(&b, t);
	if (ndjson_write(stdout, b.p, b.len) == -1 || fflush(stdout) == EOF)
		fatal(EX_IOERR, "stdout");
	buf_release(&b);
}

/* Prints t unless it is what was printed last for its service; takes t. */
static void
offer(struct printed *pr, struct targets_rec *t)
{
	struct targets_rec	*o;

	if ((o = printed_find(pr, t->service)) != NULL) {
		if (discover_same(o, t)) {
			targets_rec_release(t);
			return;
		}
		emit(t);
		targets_rec_release(o);
		*o = *t;
		return;
	}
	emit(t);
	pr->sets = xreallocarray(pr->sets, pr->n + 1, sizeof(*pr->sets));
	pr->sets[pr->n++] = *t;
}

/* After a reload: an empty set for each service no longer configured. */
static void
forget_removed(struct printed *pr, const struct conf *conf)
{
	size_t	 i, j, k = 0, n;
	int	 found;

	for (i = 0; i < pr->n; i++) {
		found = 0;
		for (j = 0; j < conf->nservices; j++)
			if (strcmp(conf->services[j].name,
			    pr->sets[i].service) == 0)
				found = 1;
		if (found) {
			pr->sets[k++] = pr->sets[i];
			continue;
		}
		/* Printed empty, released whole. */
		n = pr->sets[i].ntargets;
		pr->sets[i].ntargets = 0;
		emit(&pr->sets[i]);
		pr->sets[i].ntargets = n;
		targets_rec_release(&pr->sets[i]);
	}
	pr->n = k;
}

static void
log_messages(struct discovery *d)
{
	char	*m;

	while ((m = discovery_message(d)) != NULL) {
		log_warnx("%s", m);
		free(m);
	}
}

static void
offer_all(struct printed *pr, struct discovery *d, int force)
{
	struct targets_rec	 t;
	size_t			 i;

	for (i = 0; i < discovery_nservices(d); i++)
		if (discovery_take(d, i, force, &t))
			offer(pr, &t);
	log_messages(d);
}

/* Loads and checks a config: 0, or the exit code it deserves. */
static int
load(const char *path, struct conf **confp, struct discovery **dp)
{
	struct conf	*conf;
	char		 err[1024];

	errno = 0;
	if ((conf = conf_load(path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return errno ? EX_NOINPUT : EX_CONFIG;
	}
	if ((*dp = discovery_new(conf, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		conf_free(conf);
		return EX_CONFIG;
	}
	*confp = conf;
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct printed		 pr = { NULL, 0 };
	struct conf		*conf, *nconf;
	struct discovery	*d, *nd;
	struct sigaction	 sa;
	struct pollfd		 pfd[2];
	sigset_t		 block, empty;
	const char		*path = NULL;
	char			 err[1024], drain[256];
	size_t			 i;
	int			 ch, once = 0, check = 0, verbose = 0, code;
	int			 wake[2];

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

	if ((code = load(path, &conf, &d)) != 0)
		return code;
	if (check) {
		discovery_free(d);
		conf_free(conf);
		return conf_check_ok();
	}
	if (once) {
		if (discovery_start(d, 1, -1, err, sizeof(err)) == -1)
			fatalx(EX_OSERR, "%s", err);
		discovery_wait(d);
		offer_all(&pr, d, 1);
		discovery_free(d);
		conf_free(conf);
		for (i = 0; i < pr.n; i++)
			targets_rec_release(&pr.sets[i]);
		free(pr.sets);
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
	/* Blocked before the threads start, so they inherit the mask. */
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	if (pipe2(wake, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal(EX_OSERR, "pipe");
	if (discovery_start(d, 0, wake[1], err, sizeof(err)) == -1)
		fatalx(EX_OSERR, "%s", err);
	offer_all(&pr, d, 0);
	while (!got_term) {
		/* A pipe's write end gets POLLERR once the reader is gone. */
		pfd[0].fd = STDOUT_FILENO;
		pfd[0].events = 0;
		pfd[1].fd = wake[0];
		pfd[1].events = POLLIN;
		if (ppoll(pfd, 2, NULL, &empty) > 0) {
			if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
				break;
			while (read(wake[0], drain, sizeof(drain)) > 0)
				;
		}
		if (got_hup) {
			got_hup = 0;
			log_info("%s: reloading", path);
			if (load(path, &nconf, &nd) != 0) {
				log_warnx("%s: keeping the previous "
				    "configuration", path);
			} else if (discovery_start(nd, 0, wake[1], err,
			    sizeof(err)) == -1) {
				log_warnx("%s; keeping the previous "
				    "configuration", err);
				discovery_free(nd);
				conf_free(nconf);
			} else {
				discovery_free(d);
				conf_free(conf);
				d = nd;
				conf = nconf;
				forget_removed(&pr, conf);
			}
		}
		offer_all(&pr, d, 0);
	}
	/* The mechanisms may be waiting on the network: do not join them. */
	if (fflush(stdout) == EOF)
		return EX_IOERR;
	_exit(0);
}
