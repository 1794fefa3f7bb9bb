#pragma once
// Errors while parsing or rendering a template. what() reads "chat template, line N: message";
// message() is the message alone (exactly the text for raise_exception()).
#include "base/error.h"

#include <string>

namespace qwenrt::chat {

class TemplateError : public Error {
 public:
  TemplateError(std::string message, int line, bool raised = false)
      : Error(line > 0 ? "chat template, line " + std::to_string(line) + ": " + message : "chat template: " + message),
        message_(std::move(message)),
        line_(line),
        raised_(raised) {}
  const std::string& message() const { return message_; }
  int line() const { return line_; }
  // True when the template itself raised it with raise_exception().
  bool raised_by_template() const { return raised_; }

 private:
  std::string message_;
  int line_;
  bool raised_;
};

}  // namespace qwenrt::chat
