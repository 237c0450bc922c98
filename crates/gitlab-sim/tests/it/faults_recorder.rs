//! faults_recorder
