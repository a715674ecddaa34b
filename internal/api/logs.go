package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// logsTargetPrefix is the X-Amz-Target prefix of CloudWatch Logs actions.
const logsTargetPrefix = "Logs_20140328."

func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.writeError(w, r, apiLogs, &Error{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "CloudWatch Logs actions are POST requests."})
		return
	}
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), logsTargetPrefix)
	if !ok || action == "" {
		s.writeError(w, r, apiLogs, &Error{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: "Missing or unknown X-Amz-Target."})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, r, apiLogs, &Error{Status: http.StatusRequestEntityTooLarge, Code: "InvalidParameterException", Message: "Request body too large or unreadable."})
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		s.writeError(w, r, apiLogs, &Error{Status: http.StatusBadRequest, Code: "SerializationException", Message: "Request body is not valid JSON."})
		return
	}
	if s.deps.Logs == nil {
		s.writeError(w, r, apiLogs, &Error{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: "CloudWatch Logs API is not enabled on this server."})
		return
	}
	out, err := s.deps.Logs.LogsAction(r, IdentityFrom(r.Context()).AccountID, action, body)
	if err != nil {
		s.writeError(w, r, apiLogs, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// DecodeJSON decodes a Logs request body strictly, mapping errors to AWS's
// SerializationException / InvalidParameterException.
func DecodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()}
	}
	return nil
}
