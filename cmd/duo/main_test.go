package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	cases := []struct {
		args   []string
		status int
		out    string // substring of stdout
		errOut string // substring of stderr
	}{
		{[]string{"version"}, 0, "duo " + Version, ""},
		{[]string{"help"}, 0, "Commands:", ""},
		{nil, 2, "Usage:", ""},
		{[]string{"nosuch"}, 2, "", `unknown command "nosuch"`},
		{[]string{"version", "-bogus"}, 1, "", "flag provided but not defined"},
		{[]string{"version", "-h"}, 0, "", "Usage: duo version"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if got := run(c.args, &stdout, &stderr); got != c.status {
			t.Errorf("duo %v: status %d, want %d (stderr %q)", c.args, got, c.status, stderr.String())
		}
		if !strings.Contains(stdout.String(), c.out) || !strings.Contains(stderr.String(), c.errOut) {
			t.Errorf("duo %v: stdout %q, stderr %q; want %q / %q", c.args, stdout.String(), stderr.String(), c.out, c.errOut)
		}
	}
}
