package demo

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/alarm"
	"vpcflow/internal/logstore"
)

// Alarms evaluated live during a run, here paced to the wall clock, change
// state exactly as a batch evaluation of the stored events does, and the
// bundled scenario's SSH brute force (03:00-03:30) fires the SSH alarm.
func TestLiveAlarmsMatchStored(t *testing.T) {
	sc, topo, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	sc.Duration = 3*time.Hour + 40*time.Minute
	newEngine := func() *alarm.Engine {
		cfg, err := alarm.LoadConfig("../server/alarms.yaml")
		if err != nil {
			t.Fatal(err)
		}
		// The bundled file topic is relative: keep it in the test's directory.
		cfg.Topics[0].Subscriptions[0].Endpoint = filepath.Join(t.TempDir(), "notes.jsonl")
		eng, err := alarm.New(cfg, alarm.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		return eng
	}
	dir := filepath.Join(t.TempDir(), "data")
	res, err := RunScenario(t.Context(), sc, topo, RunOptions{DataDir: dir, Realtime: true, Speed: 200000, Alarms: newEngine()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := logstore.Open(logstore.Config{Dir: filepath.Join(dir, LogStoreDir), NoSync: true}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored, err := newEngine().EvaluateStored(t.Context(), st, logstore.Query{})
	if err != nil {
		t.Fatal(err)
	}
	changes := func(trs []alarm.Transition) []string {
		var out []string
		for _, tr := range trs {
			if tr.OldState != alarm.StateInsufficientData {
				out = append(out, tr.Timestamp.Format("15:04")+" "+tr.AlarmName+" "+string(tr.NewState))
			}
		}
		return out
	}
	live := changes(res.Alarms)
	if diff := cmp.Diff(live, changes(stored)); diff != "" {
		t.Errorf("live vs stored transitions (-live +stored):\n%s", diff)
	}
	if !contains(live, "03:05 ssh-rdp-brute-force ALARM") {
		t.Errorf("SSH brute force did not fire: %q", live)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
