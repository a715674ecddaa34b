package policy

import (
	"sync"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// The rule texts of decisions are pure functions of a rule's value, but
// building one costs a few allocations, and the dataplane evaluates the
// same handful of rules for every new flow. They are memoized by value (so
// an edited rule gets its own text), up to maxRuleTexts entries per kind.
const maxRuleTexts = 1 << 12

type sgTextKey struct {
	dir  flow.Direction
	rule vpc.SGRule
}

var ruleTexts struct {
	mu   sync.RWMutex
	sg   map[sgTextKey]string
	nacl map[vpc.NACLEntry]string
}

// sgRuleTextCached is SGRuleText, memoized.
func sgRuleTextCached(dir flow.Direction, r *vpc.SGRule) string {
	k := sgTextKey{dir, *r}
	ruleTexts.mu.RLock()
	s, ok := ruleTexts.sg[k]
	ruleTexts.mu.RUnlock()
	if ok {
		return s
	}
	s = SGRuleText(dir, *r)
	ruleTexts.mu.Lock()
	if ruleTexts.sg == nil {
		ruleTexts.sg = map[sgTextKey]string{}
	}
	if len(ruleTexts.sg) < maxRuleTexts {
		ruleTexts.sg[k] = s
	}
	ruleTexts.mu.Unlock()
	return s
}

// naclEntryTextCached is NACLEntryText, memoized.
func naclEntryTextCached(e *vpc.NACLEntry) string {
	ruleTexts.mu.RLock()
	s, ok := ruleTexts.nacl[*e]
	ruleTexts.mu.RUnlock()
	if ok {
		return s
	}
	s = NACLEntryText(*e)
	ruleTexts.mu.Lock()
	if ruleTexts.nacl == nil {
		ruleTexts.nacl = map[vpc.NACLEntry]string{}
	}
	if len(ruleTexts.nacl) < maxRuleTexts {
		ruleTexts.nacl[*e] = s
	}
	ruleTexts.mu.Unlock()
	return s
}
