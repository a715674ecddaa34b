package troubleshoot

// Origin says which way the request of a conversation crossed an interface:
// an incoming request arrives at the interface (it is the server's), an
// outgoing request leaves it (it is the client's).
type Origin uint8

// Origins.
const (
	Incoming Origin = iota + 1
	Outgoing
)

func (o Origin) String() string {
	switch o {
	case Incoming:
		return "incoming"
	case Outgoing:
		return "outgoing"
	}
	return "unknown"
}

// Seen is what the records of one leg (request or response) of a
// conversation at one interface say.
type Seen uint8

// Seen values. Mixed means both ACCEPT and REJECT records for the leg (a
// rule changed, or packets arrived after the connection closed).
const (
	NotSeen Seen = iota
	SeenAccept
	SeenReject
	SeenMixed
)

func (s Seen) String() string {
	switch s {
	case SeenAccept:
		return "ACCEPT"
	case SeenReject:
		return "REJECT"
	case SeenMixed:
		return "ACCEPT+REJECT"
	}
	return "none"
}

func (s Seen) rejected() bool { return s == SeenReject || s == SeenMixed }

// Suspect is the layer that flow logs alone can blame.
type Suspect string

// Suspects.
const (
	SuspectNone     Suspect = ""
	SuspectNACL     Suspect = "nacl"
	SuspectSG       Suspect = "sg"
	SuspectNACLOrSG Suspect = "nacl-or-sg"
)

// SeedRule numbers the four troubleshooting rules of the study notes
// (seeds 000 and 003):
//
//  1. incoming request: inbound REJECT → NACL or SG
//  2. incoming request: inbound ACCEPT, outbound REJECT → NACL (stateless; the SG is stateful)
//  3. outgoing request: outbound REJECT → NACL or SG
//  4. outgoing request: outbound ACCEPT, inbound REJECT → NACL
type SeedRule uint8

// Rule is the verdict of the seed rules for one interface.
type Rule struct {
	Seed    SeedRule // 0 when no rule applies (nothing was rejected)
	Suspect Suspect
	// Blocked is the direction, relative to the interface, of the rejected
	// leg: "ingress" or "egress"; "" when nothing was rejected.
	Blocked string
	// Response is true when the rejected leg is the response.
	Response bool
	Text     string
}

// Classify applies the four seed rules to what one interface saw of one
// conversation: request and response legs as ACCEPT, REJECT, both or nothing.
//
// A response that is rejected while the request was not logged is still a
// NACL problem: a response only exists if the request got through, and a
// security group lets responses out (and in) regardless of its rules.
func Classify(o Origin, request, response Seen) Rule {
	switch o {
	case Incoming:
		if request.rejected() {
			return Rule{Seed: 1, Suspect: SuspectNACLOrSG, Blocked: "ingress",
				Text: "inbound REJECT: the network ACL (inbound) or the security group (inbound) refused the request"}
		}
		if response.rejected() {
			return Rule{Seed: 2, Suspect: SuspectNACL, Blocked: "egress", Response: true,
				Text: "inbound ACCEPT, outbound REJECT: the network ACL (outbound) refused the response; security groups are stateful and always let a response out, network ACLs are stateless"}
		}
	case Outgoing:
		if request.rejected() {
			return Rule{Seed: 3, Suspect: SuspectNACLOrSG, Blocked: "egress",
				Text: "outbound REJECT: the security group (outbound) or the network ACL (outbound) refused the request"}
		}
		if response.rejected() {
			return Rule{Seed: 4, Suspect: SuspectNACL, Blocked: "ingress", Response: true,
				Text: "outbound ACCEPT, inbound REJECT: the network ACL (inbound) refused the response; security groups are stateful and always let a response in, network ACLs are stateless"}
		}
	}
	return Rule{}
}
