package troubleshoot

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// Sidecar field names for the deciding layer and rule of each record. They
// are vpcflow extras: never part of the default format, and written only by
// `vpcflow diagnose --output annotated`, after the AWS fields or where an
// annotated format (ParseAnnotatedFormat) puts their ${…} tokens.
const (
	FieldDecisionLayer = "vpcflow-decision-layer"
	FieldDecisionRule  = "vpcflow-decision-rule"
)

// Annotation is the deciding layer and rule of one record, as tokens
// without spaces: Layer is "sg", "nacl", "nacl-or-sg" (no topology) or "-";
// Rule is "acl-0abc/egress/100", "acl-0abc/ingress/*",
// "sg-0def/ingress/no-rule" or "-".
type Annotation struct {
	Layer string
	Rule  string
}

var noAnnotation = Annotation{"-", "-"}

func decisionToken(d Decision) string {
	switch d.Layer {
	case "nacl":
		n := fmt.Sprint(d.RuleNumber)
		if d.RuleNumber == DefaultRuleNumber {
			n = "*"
		}
		return fmt.Sprintf("%s/%s/%s", d.ResourceID, d.Direction, n)
	case "sg":
		return fmt.Sprintf("%s/%s/no-rule", strings.ReplaceAll(d.ResourceID, " ", ""), d.Direction)
	}
	if d.ResourceID != "" {
		return d.Layer + "/" + d.ResourceID
	}
	return "-"
}

// Annotate returns one annotation per record (same index): for REJECT
// records the layer and rule that decided, from the topology when given
// (replayed through the policy engine), else the seed rule's suspect.
// ACCEPT, NODATA and SKIPDATA records get "-".
func Annotate(records []flow.Record, t *vpc.Topology) []Annotation {
	out := make([]Annotation, len(records))
	for i := range out {
		out[i] = noAnnotation
	}
	a := &analysis{opts: Options{Topology: t}, recs: records}
	for i := range records {
		if usable(&records[i]) {
			a.idx = append(a.idx, i)
		}
	}
	a.own = ownAddresses(records, a.idx, a.knownAddr)
	a.convs = buildConversations(records, a.idx, a.own)
	var ev *evaluator
	if t != nil {
		ev = &evaluator{t: t}
	}
	type legKey struct {
		eni     string
		request bool
		egress  bool
		conv    *Conversation
	}
	cache := map[legKey]Annotation{}
	for _, c := range a.convs {
		req := requestPacket(c)
		for _, i := range c.records {
			r := &records[i]
			if r.Action != flow.ActionReject {
				continue
			}
			src, _ := endpoints(r)
			k := legKey{r.InterfaceID, src.addr == c.Client, egress(r, a.own[r.InterfaceID]), c}
			if ann, ok := cache[k]; ok {
				out[i] = ann
				continue
			}
			ann := noAnnotation
			var rule Rule
			switch {
			case k.request && !k.egress:
				rule = Classify(Incoming, SeenReject, NotSeen)
			case k.request:
				rule = Classify(Outgoing, SeenReject, NotSeen)
			case k.egress:
				rule = Classify(Incoming, NotSeen, SeenReject)
			default:
				rule = Classify(Outgoing, NotSeen, SeenReject)
			}
			ann.Layer = string(rule.Suspect)
			if ev != nil {
				if e := t.Interface(r.InterfaceID); e != nil {
					var ds []Decision
					switch {
					case k.request && !k.egress:
						ds = ev.inbound(e, req, false)
					case k.request:
						ds = ev.outbound(e, req, false)
					case k.egress:
						ds = ev.outbound(e, req.reverse(), true)
					default:
						ds = ev.inbound(e, req.reverse(), true)
					}
					if d, ok := verdict(ds); ok && !d.Allowed {
						ann = Annotation{Layer: d.Layer, Rule: decisionToken(d)}
					}
				}
			}
			cache[k] = ann
			out[i] = ann
		}
	}
	return out
}

// AnnotatedFormat is an output format for annotated records: ${field}
// tokens of the flow log fields and, opt-in, the two vpcflow tokens
// ${vpcflow-decision-layer} and ${vpcflow-decision-rule}, in any order.
// Only this parser knows the vpcflow tokens: flow.ParseFormat (and so
// CreateFlowLogs) rejects them, as AWS does.
type AnnotatedFormat struct {
	tokens []annToken
}

type annToken struct {
	name  string
	field flow.Format // one field; zero for a vpcflow token
	rule  bool        // the vpcflow token is the rule (else the layer)
}

// AppendDecision returns f with both vpcflow tokens appended: the default
// annotated output.
func AppendDecision(f flow.Format) AnnotatedFormat {
	var af AnnotatedFormat
	for _, id := range f.Fields() {
		one := flow.MustFormat(id)
		af.tokens = append(af.tokens, annToken{name: one.Header(), field: one})
	}
	af.tokens = append(af.tokens, annToken{name: FieldDecisionLayer}, annToken{name: FieldDecisionRule, rule: true})
	return af
}

// ParseAnnotatedFormat parses "${field} ${field} …" where a field is a flow
// log field or one of the two vpcflow tokens. Errors name the offset.
func ParseAnnotatedFormat(s string) (AnnotatedFormat, error) {
	var af AnnotatedFormat
	seen := map[string]bool{}
	off := 0
	for _, tok := range strings.Split(s, " ") {
		name, ok := strings.CutPrefix(tok, "${")
		if ok {
			name, ok = strings.CutSuffix(name, "}")
		}
		if !ok || name == "" {
			return af, &flow.FormatError{Offset: off, Field: tok, Msg: "expected ${field} separated by single spaces"}
		}
		if seen[name] {
			return af, &flow.FormatError{Offset: off, Field: name, Msg: "duplicate field"}
		}
		seen[name] = true
		switch name {
		case FieldDecisionLayer, FieldDecisionRule:
			af.tokens = append(af.tokens, annToken{name: name, rule: name == FieldDecisionRule})
		default:
			one, err := flow.ParseFormat(tok)
			if err != nil {
				if fe, isFE := errors.AsType[*flow.FormatError](err); isFE {
					fe.Offset += off
				}
				return af, err
			}
			af.tokens = append(af.tokens, annToken{name: name, field: one})
		}
		off += len(tok) + 1
	}
	return af, nil
}

// WriteAnnotated writes records in format f with the two sidecar fields
// appended, after a header line naming every field.
func WriteAnnotated(w io.Writer, f flow.Format, records []flow.Record, anns []Annotation) error {
	return WriteAnnotatedFormat(w, AppendDecision(f), records, anns)
}

// WriteAnnotatedFormat writes records in an annotated format, after a
// header line naming every field.
func WriteAnnotatedFormat(w io.Writer, af AnnotatedFormat, records []flow.Record, anns []Annotation) error {
	p := &errWriter{w: w}
	names := make([]string, len(af.tokens))
	for i, t := range af.tokens {
		names[i] = t.name
	}
	p.printf("%s\n", strings.Join(names, " "))
	var buf []byte
	for i := range records {
		ann := noAnnotation
		if i < len(anns) {
			ann = anns[i]
		}
		buf = buf[:0]
		for j, t := range af.tokens {
			if j > 0 {
				buf = append(buf, ' ')
			}
			switch {
			case !t.field.IsZero():
				buf = flow.AppendText(buf, t.field, &records[i])
			case t.rule:
				buf = append(buf, ann.Rule...)
			default:
				buf = append(buf, ann.Layer...)
			}
		}
		buf = append(buf, '\n')
		if p.err == nil {
			_, p.err = w.Write(buf)
		}
	}
	return p.err
}
