// Command gotest runs `go test -json` with the given arguments, prints what
// plain `go test` would (package results, the output of failing tests) and
// a closing "N passed, N failed, N skipped" line. Under CI=true a skipped
// test is a failure: CI must run every test, and the tests only skip when a
// tool is missing.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type summary struct {
	passed          int
	failed, skipped []string // package.Test
}

func main() {
	args := append([]string{"test", "-count=1", "-json"}, os.Args[1:]...)
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotest:", err)
		os.Exit(2)
	}
	s := report(stdout, os.Stdout)
	waitErr := cmd.Wait()

	fmt.Printf("\n%d passed, %d failed, %d skipped\n", s.passed, len(s.failed), len(s.skipped))
	code := 0
	if len(s.failed) > 0 || waitErr != nil {
		code = 1
	}
	if len(s.failed) > 0 {
		fmt.Println("failed:", strings.Join(s.failed, ", "))
	}
	if len(s.skipped) > 0 {
		fmt.Println("skipped:", strings.Join(s.skipped, ", "))
		if os.Getenv("CI") == "true" {
			fmt.Println("gotest: tests were skipped under CI=true; CI must run them all (install the tools with hack/tools)")
			code = 1
		}
	}
	os.Exit(code)
}

// report streams events: it buffers each test's output and prints it only
// when the test fails, like `go test` without -v.
func report(r io.Reader, w io.Writer) summary {
	var s summary
	out := map[string]*strings.Builder{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(w, sc.Text()) // not JSON: a build error, say
			continue
		}
		if e.Test == "" {
			// package-level lines: "ok", "FAIL", "?", build output.
			if e.Action == "output" && !strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "PASS") {
				fmt.Fprint(w, e.Output)
			}
			continue
		}
		k, name := e.Package+"\x00"+e.Test, e.Package+"."+e.Test
		switch e.Action {
		case "output":
			if out[k] == nil {
				out[k] = &strings.Builder{}
			}
			out[k].WriteString(e.Output)
			continue
		case "pass":
			s.passed++
		case "skip":
			s.skipped = append(s.skipped, name)
		case "fail":
			s.failed = append(s.failed, name)
			if b := out[k]; b != nil {
				fmt.Fprint(w, b.String())
			}
		default: // run, pause, cont: the test goes on
			continue
		}
		delete(out, k) // the test is over
	}
	sort.Strings(s.skipped)
	return s
}
