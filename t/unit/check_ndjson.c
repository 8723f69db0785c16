/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the NDJSON line reader. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"

/* A reader over the bytes s, through a real pipe. */
static struct ndjson_reader *
reader_on(const char *s, size_t len, size_t maxline, int *fd)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) > 0, 1);
	ck_assert_int_eq(write(p[1], s, len), (ssize_t)len);
	close(p[1]);
	*fd = p[0];
	return ndjson_reader_new(p[0], maxline);
}

START_TEST(test_lines)
{
	static const char in[] = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
	struct ndjson_reader *r;
	const char *line;
	size_t len;
	int fd;

	r = reader_on(in, sizeof(in) - 1, 0, &fd);
	ck_assert_int_eq(ndjson_read(r, &line, &len), NDJSON_LINE);
	ck_assert_str_eq(line, "{\"a\":1}");
	ck_assert_uint_eq(len, 7);
	ck_assert_uint_eq(ndjson_lineno(r), 1);
	ck_assert_uint_eq(ndjson_offset(r), 0);
	ck_assert_int_eq(ndjson_read(r, &line, &len), NDJSON_LINE);
	ck_assert_str_eq(line, "{\"b\":2}");
	ck_assert_uint_eq(ndjson_offset(r), 9);
	ck_assert_int_eq(ndjson_read(r, &line, &len), NDJSON_LINE);
	ck_assert_str_eq(line, "{\"c\":3}");
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(ndjson_read(r, &line, &len), NDJSON_EOF);
	ndjson_reader_free(r);
	close(fd);
}
END_TEST

START_TEST(test_too_long)
{
	char *in;
	struct ndjson_reader *r;
	const char *line;
	size_t len, n = 300000;
	int fd;

	/* A line far over the bound between two good ones. */
	in = malloc(n + 32);
	strcpy(in, "{\"a\":1}\n");
	memset(in + 8, 'x', n);
	strcpy(in + 8 + n, "\n{\"b\":2}\n");
	r = reader_on(in, strlen(in), 1000, &fd);
	ck_assert_int_eq(ndjson_read(r, &line, &len), NDJSON_LINE);
	ck_assert_int_eq(ndjson_read(r, &line, &len), NDJSON_TOOLONG);
	ck_assert_uint_eq(ndjson_lineno(r), 2);
	ck_assert_uint_eq(ndjson_offset(r), 8);
	ck_assert_int_eq(ndjson_read(r, &line, &len), NDJSON_LINE);
	ck_assert_str_eq(line, "{\"b\":2}");
	ck_assert_uint_eq(ndjson_lineno(r), 3);
	ck_assert_int_eq(ndjson_read(r, &line, &len), NDJSON_EOF);
	ndjson_reader_free(r);
	close(fd);
	free(in);
}
END_TEST

START_TEST(test_nonblocking)
{
	struct ndjson_reader *r;
	const char *line;
	size_t len;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	r = ndjson_reader_new(p[0], 0);
	ck_assert_int_eq(ndjson_fill(r), NDJSON_AGAIN);
	ck_assert_int_eq(write(p[1], "{\"x\"", 4), 4);
	ck_assert_int_eq(ndjson_fill(r), NDJSON_LINE);
	ck_assert_int_eq(ndjson_next(r, &line, &len), NDJSON_AGAIN);
	ck_assert_int_eq(write(p[1], ":1}\n{", 5), 5);
	ck_assert_int_eq(ndjson_fill(r), NDJSON_LINE);
	ck_assert_int_eq(ndjson_next(r, &line, &len), NDJSON_LINE);
	ck_assert_str_eq(line, "{\"x\":1}");
	ck_assert_int_eq(ndjson_next(r, &line, &len), NDJSON_AGAIN);
	close(p[1]);
	ck_assert_int_eq(ndjson_fill(r), NDJSON_EOF);
	ck_assert_int_eq(ndjson_next(r, &line, &len), NDJSON_LINE);
	ck_assert_str_eq(line, "{");
	ck_assert_int_eq(ndjson_next(r, &line, &len), NDJSON_EOF);
	ndjson_reader_free(r);
	close(p[0]);
}
END_TEST

START_TEST(test_write_closed)
{
	FILE *f;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	f = fdopen(p[1], "w");
	setvbuf(f, NULL, _IONBF, 0);
	ck_assert_int_eq(ndjson_write(f, "{}", 2), -1);
	ck_assert_int_eq(errno, EPIPE);
	fclose(f);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ndjson");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_nonblocking);
	tcase_add_test(tc, test_write_closed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
