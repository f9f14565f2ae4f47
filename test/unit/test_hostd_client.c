/* Unit tests of swarm/hostd_client: the answer-line parser, and whole exchanges with a scripted
 * daemon on a real unix socket (done, error, refusal, a daemon that dies, an over-long line). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/df.h"
#include "swarm/hostd_client.h"
#include "test/unit/unit.h"

static int parse(const char *line, struct hostd_answer *a)
{
	return hostd_parse_answer(line, strlen(line), a);
}

static void answers(void)
{
	struct hostd_answer a;
	CHECK(parse("task: abc", &a) == DF_OK && a.kind == HOSTD_ANS_TASK && slice_eq(a.msg, "abc"));
	CHECK(parse("length: -1", &a) == DF_OK && a.kind == HOSTD_ANS_LENGTH && a.num[0] == -1);
	CHECK(parse("progress: 10 -1", &a) == DF_OK && a.kind == HOSTD_ANS_PROGRESS && a.num[0] == 10 &&
	      a.num[1] == -1);
	CHECK(parse("done: 5 1 2 3 4", &a) == DF_OK && a.kind == HOSTD_ANS_DONE && a.num[0] == 5 && a.num[4] == 4);
	CHECK(parse("error: 3 get x: digest mismatch", &a) == DF_OK && a.kind == HOSTD_ANS_ERROR && a.exit_code == 3 &&
	      slice_eq(a.msg, "get x: digest mismatch"));
	CHECK(parse("error: 2 refused: not yours", &a) == DF_OK && a.kind == HOSTD_ANS_REFUSED && a.exit_code == 2);
	/* a refusal is exactly that form: the word elsewhere in a message is an ordinary error */
	CHECK(parse("error: 2 get x: source refused the connection", &a) == DF_OK && a.kind == HOSTD_ANS_ERROR);
	CHECK(parse("error: 1 refused: x", &a) == DF_OK && a.kind == HOSTD_ANS_ERROR);
	CHECK(parse("hello: there", &a) == DF_OK && a.kind == HOSTD_ANS_OTHER);
	CHECK(parse("", &a) == DF_OK && a.kind == HOSTD_ANS_OTHER);
	a.kind = HOSTD_ANS_TASK;
	const char *bad[] = {"task: ",           "task: a b",        "length: x",
			     "length: -2",       "length: 1 2",      "progress: 1",
			     "progress: -1 5",   "progress: 1 2 3",  "done: 1 2 3 4",
			     "done: 1 -1 2 3 4", "done: 1  2 3 4 5", "done: 99999999999999999999 0 0 0 0",
			     "error: 0 x",       "error: 126 x",     "error: x y",
			     "error: ",          "progress: 1 2\r"};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		if (parse(bad[i], &a) != DF_ERR)
			fprintf(stderr, "    accepted '%s'\n", bad[i]);
		CHECK(parse(bad[i], &a) == DF_ERR);
	}
	CHECK_EQ(a.kind, HOSTD_ANS_TASK); /* refused lines leave the answer untouched */
}

/* A daemon that reads the request up to its empty line, checks it carries want, answers script
 * and closes. Returns its pid. */
static pid_t daemon_at(const char *path, const char *want, const char *script)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0)
		return -1;
	pid_t pid = fork();
	if (pid != 0) {
		close(l);
		return pid;
	}
	int fd = accept(l, NULL, NULL);
	char req[8192];
	size_t n = 0;
	while (n < sizeof req - 1) {
		ssize_t r = read(fd, req + n, sizeof req - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = 0;
		if (strstr(req, "\n\n"))
			break;
	}
	req[n] = 0;
	if (!strstr(req, want))
		_exit(9);
	if (write(fd, script, strlen(script)) < 0)
		_exit(8);
	_exit(0);
}

static int progress_calls;
static void on_progress(int64_t done, int64_t total, void *ctx)
{
	(void)ctx;
	progress_calls += done == 7 && total == 9;
}

static enum hostd_outcome run(const char *script, struct hostd_result *res, int *child_status)
{
	char path[256];
	snprintf(path, sizeof path, "%s/d.sock", unit_tmpdir());
	/* the output's mode is the client's (its umask), not the daemon's */
	pid_t pid = daemon_at(path, "url: http://h/f\noutput: /tmp/o\nmode: 0640\nheader: A: b\n\n", script);
	const char *hdr[] = {"A: b"};
	struct hostd_handoff h = {.socket = path,
				  .url = "http://h/f",
				  .output = "/tmp/o",
				  .headers = hdr,
				  .nheaders = 1,
				  .on_progress = on_progress};
	mode_t um = umask(027);
	enum hostd_outcome o = hostd_handoff(&h, res);
	umask(um);
	waitpid(pid, child_status, 0);
	return o;
}

static void exchanges(void)
{
	struct hostd_result res;
	int st;
	progress_calls = 0;
	CHECK_EQ(run("task: t\nlength: 9\nprogress: 7 9\ndone: 9 1 2 6 0\n", &res, &st), HOSTD_DONE);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(res.length == 9 && res.peers == 1 && res.super == 2 && res.source == 6);
	CHECK_EQ(progress_calls, 1);
	CHECK_EQ(run("task: t\nerror: 3 get http://h/f: digest mismatch\n", &res, &st), HOSTD_FAILED);
	CHECK_EQ(res.exit_code, 3);
	CHECK_STR(res.msg, "get http://h/f: digest mismatch");
	CHECK_EQ(run("error: 2 refused: df proxy serves hand-offs from its own user only\n", &res, &st),
		 HOSTD_NOT_OURS);
	CHECK_EQ(run("task: t\nprogress: 7 9\n", &res, &st), HOSTD_LOST);
	/* garbage and an over-long line are skipped, not misread: its tail "done: ..." is no answer */
	char big[9000];
	memset(big, 'x', sizeof big);
	memcpy(big + sizeof big - 40, "done: 1 1 1 1 1\n", 16);
	big[sizeof big - 40 + 16] = 0;
	char script[9100];
	snprintf(script, sizeof script, "junk\nprogress: a b\n%sdone: 9 0 0 9 0\n", big);
	CHECK_EQ(run(script, &res, &st), HOSTD_DONE);
	CHECK_EQ(res.length, 9);
	/* a socket file nobody answers on */
	char path[256];
	snprintf(path, sizeof path, "%s/gone.sock", unit_tmpdir());
	CHECK_EQ(hostd_handoff(&(struct hostd_handoff){.socket = path, .url = "http://h/f", .output = "/o"}, &res),
		 HOSTD_NO_DAEMON);
}

static void socket_paths(void)
{
	char p[64];
	CHECK(hostd_socket_path("/s", "/d", p, sizeof p) == DF_OK && strcmp(p, "/s") == 0);
	CHECK(hostd_socket_path("", "/d", p, sizeof p) == DF_OK && strcmp(p, "/d/proxy.sock") == 0);
	CHECK_EQ(hostd_socket_path("", "/a-data-dir-whose-path-does-not-fit-in-the-buffer-given", p, 32), DF_ERR);
}

static const struct unit_test tests[] = {
	{"answers", answers},
	{"exchanges", exchanges},
	{"socket_paths", socket_paths},
};
UNIT_MAIN("hostd_client", tests)
