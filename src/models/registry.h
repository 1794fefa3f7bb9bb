#pragma once
// Finding and loading models: format detection, architecture lookup, synthetic presets.
#include "io/mapped_file.h"
#include "model/model.h"
#include "models/architecture.h"

#include <memory>
#include <string>
#include <vector>

namespace qwenrt {

const std::vector<const Architecture*>& architectures();

// Opens PATH (Hugging Face directory or GGUF file) and builds the model. Throws Error with a
// message naming the file and the problem. `mode`: how the weight files are held in memory.
std::unique_ptr<Model> load_model(const std::string& path, LoadMode mode = LoadMode::Map);

// A random-weight model of a real shape, built in memory (never written to disk).
// Presets: synthetic_presets(). `layers` > 0 sets the depth (default: the real depth, or 4 for
// the MoE shapes, which keep every width and expert count).
std::unique_ptr<Model> make_synthetic_model(const std::string& preset, DType dtype, uint64_t seed, ThreadPool* pool,
                                            int layers = 0);
std::vector<std::string> synthetic_presets();

}  // namespace qwenrt
