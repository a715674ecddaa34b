package api

import (
	"net/http"
)

// EC2Backend serves the EC2 Query API actions vpcflow supports. Each action
// receives the caller's account and the request's parameters and returns a
// value that marshals to the action's XML response body.
type EC2Backend interface {
	// EC2Action runs one action. It returns an *Error (or an error with an
	// AWSCode method) for AWS-style failures.
	EC2Action(r *http.Request, account, action string, params Params) (any, error)
}

// LogsBackend serves the CloudWatch Logs JSON actions.
type LogsBackend interface {
	LogsAction(r *http.Request, account, action string, body []byte) (any, error)
}

func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.writeError(w, r, apiEC2, &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "Malformed request body: " + err.Error()})
		return
	}
	action := r.Form.Get("Action")
	if action == "" {
		s.writeError(w, r, apiEC2, &Error{Status: http.StatusBadRequest, Code: "MissingAction", Message: "The request must contain the parameter Action."})
		return
	}
	if v := r.Form.Get("Version"); v != "" && v != "2016-11-15" {
		s.writeError(w, r, apiEC2, &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "Unsupported API version " + v + "; vpcflow implements 2016-11-15."})
		return
	}
	if s.deps.EC2 == nil {
		s.writeError(w, r, apiEC2, errInvalidAction(action))
		return
	}
	out, err := s.deps.EC2.EC2Action(r, IdentityFrom(r.Context()).AccountID, action, Params(r.Form))
	if err != nil {
		s.writeError(w, r, apiEC2, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	writeXML(w, out)
}
