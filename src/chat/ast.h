#pragma once
// The syntax tree of a template: expressions and statements, each with its source line.
#include "chat/value.h"

#include <memory>
#include <string>
#include <vector>

namespace qwenrt::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,     // value
    Name,        // name
    List,        // items
    Tuple,       // items
    Dict,        // items as key, value pairs
    Attribute,   // object.name
    Subscript,   // object[index]
    Slice,       // object[start:stop:step] (absent parts are null)
    Call,        // callee(args, keyword args)
    Filter,      // object | name(args)
    Test,        // object is [not] name(args)
    Unary,       // op operand: "not", "-", "+"
    Binary,      // left op right: arithmetic, comparison, "in", "not in", "~"
    And,
    Or,
    Conditional  // then if condition else otherwise (otherwise may be null)
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;  // Name, Attribute, Call-free Filter/Test name, operator for Unary/Binary
  bool negated = false;  // Test: "is not"
  ExprPtr a, b, c;       // operands (Subscript: object, index; Slice: object + start in a, stop in b, step in c ...)
  ExprPtr object;
  std::vector<ExprPtr> items;                          // List/Tuple elements, Call/Filter/Test positional args
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // keyword arguments
  std::vector<std::pair<ExprPtr, ExprPtr>> pairs;       // Dict
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    Text,     // text
    Print,    // expr
    If,       // branches: (condition, body)...; else_body
    For,      // targets in iter [if filter]: body; else_body
    Set,      // targets = expr | target.attr = expr
    SetBlock, // {% set name %}body{% endset %}
    Macro,    // name(params): body
    Break,
    Continue,
    FilterBlock,  // {% filter name(args) %}body{% endfilter %}
    Generation    // {% generation %}body{% endgeneration %}
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
  std::vector<std::string> targets;  // For / Set names
  std::string attribute;             // Set: namespace attribute
  ExprPtr filter;                    // For: "if" condition; FilterBlock: the filter call
  bool recursive = false;
  std::string name;                  // Macro / SetBlock
  std::vector<MacroParam> params;
};

}  // namespace qwenrt::chat
