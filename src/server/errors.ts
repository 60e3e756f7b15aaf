// Every HTTP error body netfence sends has this one shape: what is wrong, for a person, and a
// stable code, for a program. The AdmissionReview answers (HTTP 200) are built in admission/response.ts.

export interface ErrorBody {
  error: string;
  code: string;
}

export function errorBody(code: string, error: string): ErrorBody {
  return { error, code };
}
