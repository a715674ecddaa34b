package api

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
)

// Error is an AWS-shaped API error: the HTTP status and the error code and
// message the SDKs parse.
type Error struct {
	Status  int
	Code    string
	Message string
	// Resource is the S3 key or bucket the error concerns, if any.
	Resource string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Common errors.
func errInvalidParameter(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: msg}
}

func errInvalidAction(action string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidAction",
		Message: "The action " + action + " is not valid for this web service."}
}

// asAPIError maps any error to an AWS error; unknown errors become 500
// InternalError without leaking details.
func asAPIError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var coded interface {
		error
		AWSCode() string
	}
	if errors.As(err, &coded) {
		return &Error{Status: http.StatusBadRequest, Code: coded.AWSCode(), Message: coded.Error()}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalError",
		Message: "An internal error has occurred."}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, api string, err error) {
	e := asAPIError(err)
	if e.Status >= 500 {
		s.deps.Logger.Error("api request failed", "api", api, "path", r.URL.Path, "error", err)
	}
	id := requestID(r.Context())
	switch api {
	case apiLogs:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("x-amzn-ErrorType", e.Code)
		w.WriteHeader(e.Status)
		json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
	case apiEC2:
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(e.Status)
		type xmlErr struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		writeXML(w, struct {
			XMLName   xml.Name `xml:"Response"`
			Errors    []xmlErr `xml:"Errors>Error"`
			RequestID string   `xml:"RequestID"`
		}{Errors: []xmlErr{{e.Code, e.Message}}, RequestID: id})
	default:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(e.Status)
		if r.Method == http.MethodHead {
			return
		}
		writeXML(w, struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string   `xml:"Code"`
			Message   string   `xml:"Message"`
			Resource  string   `xml:"Resource,omitempty"`
			RequestID string   `xml:"RequestId"`
		}{Code: e.Code, Message: e.Message, Resource: e.Resource, RequestID: id})
	}
}

func writeXML(w http.ResponseWriter, v any) {
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Encode(v)
}
