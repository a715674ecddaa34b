package flowlog

import "fmt"

// AWS error codes returned by the flow log API (spec §6.6).
const (
	CodeInvalidParameter            = "InvalidParameter"
	CodeInvalidParameterValue       = "InvalidParameterValue"
	CodeMissingParameter            = "MissingParameter"
	CodeDryRunOperation             = "DryRunOperation"
	CodeIdempotentParameterMismatch = "IdempotentParameterMismatch"
	CodeFlowLogAlreadyExists        = "FlowLogAlreadyExists"
	CodeFlowLogsLimitExceeded       = "FlowLogsLimitExceeded"
	CodeInvalidFlowLogNotFound      = "InvalidFlowLogId.NotFound"
	CodeInvalidVPCNotFound          = "InvalidVpcID.NotFound"
	CodeInvalidVPCMalformed         = "InvalidVpcID.Malformed"
	CodeInvalidSubnetNotFound       = "InvalidSubnetID.NotFound"
	CodeInvalidSubnetMalformed      = "InvalidSubnetID.Malformed"
	CodeInvalidENINotFound          = "InvalidNetworkInterfaceID.NotFound"
	CodeInvalidENIMalformed         = "InvalidNetworkInterfaceID.Malformed"
	CodeInternalError               = "InternalError"
)

// Error is an API error with AWS's code and message. It is safe to show to
// users; the API layer maps it to an HTTP 400 (EC2 error envelope).
type Error struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is matches another *Error with the same code, so that
// errors.Is(err, &flowlog.Error{Code: flowlog.CodeInvalidParameter}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func missing(param string) *Error {
	return errorf(CodeMissingParameter, "The request must contain the parameter %s", param)
}

// InvalidValue is EC2's InvalidParameterValue for a parameter's value;
// valid says what is expected.
func InvalidValue(param, value, valid string) error { return invalidValue(param, value, valid) }

func invalidValue(param, value, valid string) *Error {
	if valid != "" {
		return errorf(CodeInvalidParameterValue, "Value (%s) for parameter %s is invalid. %s", value, param, valid)
	}
	return errorf(CodeInvalidParameterValue, "Value (%s) for parameter %s is invalid.", value, param)
}
