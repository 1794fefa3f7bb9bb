#include "cli/hooks.h"

int main(int argc, char** argv) { return qwenrt::cli::run_app(argc, argv); }
