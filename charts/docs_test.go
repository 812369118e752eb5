package charts_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/walkerhq/walker/internal/testtool"
)

// helmDocsArgs writes walker/README.md from README.md.gotmpl and the
// `# --` comments of values.yaml (run from this folder; the README shows the
// same command from the repository's root).
var helmDocsArgs = []string{"--chart-search-root", chartDir, "--chart-to-generate", chartDir, "--sort-values-order", "file"}

// TestValuesTable: the README is what helm-docs writes from values.yaml,
// and every row of its values table has a description (helm-docs lists an
// undocumented value with an empty one).
func TestValuesTable(t *testing.T) {
	bin := testtool.Require(t, "helm-docs")
	cmd := exec.Command(bin, append(helmDocsArgs, "--dry-run", "--log-level", "warning")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	want, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("helm-docs: %v\n%s", err, stderr.String())
	}
	if have := testtool.ReadFile(t, chartDir+"/README.md"); !bytes.Equal(bytes.TrimSpace(have), bytes.TrimSpace(want)) {
		t.Errorf("walker/README.md is not what helm-docs writes from values.yaml and README.md.gotmpl: edit those, then run, in the repository's root,\n"+
			"  \"$(hack/tools --bin-dir)/helm-docs\" %s", strings.ReplaceAll(strings.Join(helmDocsArgs, " "), chartDir, "charts/"+chartDir))
	}
	rows := 0
	inTable := false
	for _, line := range strings.Split(string(want), "\n") {
		switch {
		case strings.HasPrefix(line, "| Key | Type | Default | Description |"):
			inTable = true
		case inTable && strings.HasPrefix(line, "|--"):
		case inTable && strings.HasPrefix(line, "| "):
			rows++
			fields := strings.Split(line, " | ")
			if desc := strings.TrimSpace(strings.TrimSuffix(fields[len(fields)-1], "|")); desc == "" {
				t.Errorf("value %s has no `# --` description in values.yaml", strings.TrimPrefix(fields[0], "| "))
			}
		default:
			inTable = false
		}
	}
	if rows < 100 {
		t.Errorf("the values table has %d rows; want one per value", rows)
	}
}
